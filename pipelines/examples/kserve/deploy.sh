#!/bin/sh
# Deploy a promoted model version to KServe: `deploy: {kind: command, command: "sh deploy/kserve.sh"}`.
#
# modelgate runs this from a checkout of the merge commit, isolated like a job, with:
#   MODEL_ARTIFACT_URI  where MLflow stores the version's files (s3://..., gs://...): KServe's storageUri
#   MODEL_VERSION       the registered version;  MODEL_URI  models:/NAME/VERSION
# and the repository's job secrets (MODELGATE_JOB_ENV_DIR): put KUBECONFIG_DATA (a kubeconfig) there,
# and run jobs with MODELGATE_JOB_NETWORK=host so kubectl reaches the cluster. Optional secrets:
#   KSERVE_NAME (default: the model's name), KSERVE_NAMESPACE (default: models),
#   KUBECTL (default: kubectl on the job's PATH).
# The InferenceService is updated in place (KServe rolls the predictor over); `kubectl wait` fails the
# deploy, and modelgate then puts the champion alias back, if the new revision does not become Ready.
set -eu
: "${MODEL_ARTIFACT_URI:?modelgate sets MODEL_ARTIFACT_URI}"
: "${MODEL_VERSION:?modelgate sets MODEL_VERSION}"
model="${MODEL_URI#models:/}"
name="${KSERVE_NAME:-${model%/*}}"
namespace="${KSERVE_NAMESPACE:-models}"
kubectl="${KUBECTL:-kubectl}"
if [ -n "${KUBECONFIG_DATA:-}" ]; then
  KUBECONFIG="${TMPDIR:-/tmp}/kubeconfig"
  printf '%s\n' "$KUBECONFIG_DATA" > "$KUBECONFIG"
  export KUBECONFIG
fi
"$kubectl" apply -n "$namespace" -f - <<MANIFEST
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: $name
  annotations:
    modelgate/version: "$MODEL_VERSION"
spec:
  predictor:
    model:
      modelFormat:
        name: mlflow
      protocolVersion: v2
      storageUri: "$MODEL_ARTIFACT_URI"
MANIFEST
"$kubectl" wait -n "$namespace" --for=condition=Ready "inferenceservice/$name" --timeout=600s
echo "version $MODEL_VERSION of $name is Ready on KServe (namespace $namespace)"
