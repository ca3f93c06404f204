"""What a production run did to the model, for people: the outcome line (``promoted as version
7 (was version 6); …``, ``not promoted: …``, ``already promoted as …``) and how it marks the run's
check run and commit status. One pure function per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.feedback.check_report import CheckReport

DEPLOY_ERROR_LIMIT = 3000  # the last characters of a deploy error shown in the check run


def not_promoted_error() -> str:
    """The production pipeline itself failed: nothing was promoted."""
    return "not promoted: the production pipeline stopped (error)"


def not_promoted_gates(reasons: Sequence[str]) -> str:
    """The production gates failed: every failed gate's reason, in order."""
    return f"not promoted: {'; '.join(reasons) or 'the gates failed'}"


def not_promoted_refused(reason: str) -> str:
    """The App's rules on model names and serving ports refused the promotion (``reason``: one of
    ``owned_elsewhere`` … ``no_free_port``: what was refused, then the next step; no markdown, as
    reports show outcome lines literally)."""
    return f"not promoted: {reason}"


def refused_report(line: str) -> CheckReport:
    """A promotion the App's ownership rules refused (``line``: ``not_promoted_refused``): the gates
    passed, but nothing moved. The commit status gets the line's first clause."""
    summary = ("The candidate passed its production gates, but the App's rules on model names and serving "
               "ports refused it: nothing was promoted or deployed and the champion is unchanged. Change "
               "`.modelgate.yml` in a new pull request, or, once the App's operator allows it, **Re-run** "
               "this check to try this commit again.")
    return CheckReport("failure", "failure", "Not promoted: refused by the App's ownership rules", summary,
                       line.split(";")[0])


def owned_elsewhere(model: str, owner: str) -> str:
    """The model name belongs to another repository, the first to promote it."""
    return (f"model {model} belongs to {owner}, the first repository to promote it; rename model.name in "
            ".modelgate.yml, or ask the App's operator to share the name (MODELGATE_SHARED_MODELS)")


def host_not_allowed(host: str, allowed: str) -> str:
    """``deploy.host`` asks for an address the App does not serve models on."""
    return f"deploy.host {host} is not allowed: this App serves models on {allowed}; remove deploy.host"


def port_not_allowed(port: int, allowed: str) -> str:
    """``deploy.port`` is outside the ports the App's operator allows (``allowed``: the range)."""
    return (f"deploy.port {port} is not one of the ports this App serves on ({allowed}); pick one of them, "
            "or remove deploy.port to get one assigned")


def port_taken(port: int, repository: str, model: str) -> str:
    """``deploy.port`` already serves another repository's (or another model's) scoring server."""
    return (f"deploy.port {port} already serves model {model} of {repository}; pick another port, or "
            "remove deploy.port to get one assigned")


def no_free_port(allowed: str) -> str:
    """Every port the App's operator allows serves another (repository, model)."""
    return (f"every port this App serves on ({allowed}) serves another model; ask the App's operator to "
            "widen MODELGATE_SERVE_PORTS")


def promoted(version: int, previous: int | None, detail: str) -> str:
    """A new champion: its version, the one it replaced (if any) and how it is deployed."""
    was = f" (was version {previous})" if previous else ""
    return f"promoted as version {version}{was}; {detail}"


def promoted_title(version: int) -> str:
    """The check run's title once a version is promoted."""
    return f"Promoted as version {version}"


def deploy_failed(version: int, previous: int | None, error: str) -> CheckReport:
    """The promoted version did not deploy: the aliases went back; the deployer's error (its tail)."""
    back = f"champion stays version {previous}" if previous else "there is no champion"
    line = f"not promoted: deploying version {version} failed; {back}"
    output = f"```\n{error[-DEPLOY_ERROR_LIMIT:]}\n```"  # the outcome line goes above it
    return CheckReport("failure", "failure", f"Deploy failed: {back}", output, line)


def already_promoted(version: int | None, run_id: int | None) -> str:
    """The commit was promoted before (a redelivery, a re-run): by which run, as which version."""
    return f"already promoted as version {version} (by run {run_id})"


def already_handled(run_id: int | None, state: str) -> str:
    """Another run decided this commit's promotion without promoting it (``state``: how it ended)."""
    return f"already handled by run {run_id} ({state})"


def duplicate_report(sha: str, model: str, line: str, was_promoted: bool) -> CheckReport:
    """A production run that found its commit already decided (``line``): it did nothing again."""
    summary = f"Commit `{sha[:7]}` of `{model}`: {line}. Nothing was done again."
    title = line[:1].upper() + line[1:]
    return CheckReport("success" if was_promoted else "neutral", "success", title, summary, line)


_UNVERIFIED = {  # why GitHub does not vouch for the commit, by ``Provenance`` value
    "no pull request": "pull request #{pr} does not exist",
    "not merged": "pull request #{pr} is not merged",
    "other merge commit": "{sha} is not the merge commit of pull request #{pr} (GitHub says {merge})",
    "merged into another branch": "pull request #{pr} was not merged into the default branch {branch}",
    "not on the default branch": "{sha} is not on the default branch {branch}",
    "unknown commit": "{sha} is not a commit of this repository",
}


def unverified_commit(sha: str, problem: str, pr: int | None, merge_sha: str | None,
                      branch: str | None) -> CheckReport:
    """Production refuses a commit GitHub does not vouch for (``problem``: a ``Provenance`` value),
    whatever the webhook said: nothing was trained or promoted."""
    why = _UNVERIFIED[problem].format(sha=sha[:7], pr=pr, merge=(merge_sha or "none")[:7], branch=branch)
    summary = (f"**not promoted: {why}.**\n\nmodelgate promotes only the merge commit of a pull request "
               "that GitHub says is merged into the default branch, or (with `production.on_push`) a "
               "commit on the default branch, as GitHub answers when the run starts. Nothing was trained "
               "or promoted.")
    title = "Not promoted: commit not verified"
    return CheckReport("failure", "failure", title, summary, f"not promoted: {why}")


def with_outcome(report: CheckReport, line: str, title: str | None = None) -> CheckReport:
    """The pipeline's verdict ``report`` with the outcome ``line`` on top of its summary and in its
    commit status (the line's first clause, then the verdict), and ``title`` when given."""
    short = line.split(";")[0]
    description = report.description if short in report.description else f"{short} · {report.description}"
    return replace(report, title=title or report.title, summary=f"**{line}**\n\n{report.summary}",
                   description=description)
