"""GitHub-shaped JSON for statuses, check runs, deployments and repository contents."""

from __future__ import annotations

import base64
from typing import Any

from github_standin import git
from github_standin.models import CheckRun, CommitStatus, Deployment, DeploymentStatus, Repo
from github_standin.shapes import View, node_id

SUITE_CONCLUSIONS = ("action_required", "cancelled", "timed_out", "failure", "stale", "success",
                     "neutral", "skipped")  # a suite concludes as the first its runs have


def status(view: View, item: CommitStatus, *, creator: bool = True) -> dict[str, Any]:
    """A commit status."""
    repo = view.state.repos[item.repo]
    user = view.user(item.creator)
    data = {"url": f"{view.repo_api(repo)}/statuses/{item.sha}", "avatar_url": user["avatar_url"],
            "id": item.id, "node_id": node_id("Status", item.id), "state": item.state,
            "description": item.description, "target_url": item.target_url,
            "context": item.context, "created_at": item.created_at,
            "updated_at": item.created_at}
    if creator:
        data["creator"] = user
    return data


def latest_statuses(view: View, repo: Repo, sha: str) -> list[CommitStatus]:
    """The newest status per context on ``sha``, newest first."""
    latest: dict[str, CommitStatus] = {}
    for item in view.state.statuses:
        if item.repo == repo.key and item.sha == sha:
            latest[item.context] = item
    return sorted(latest.values(), key=lambda s: s.id, reverse=True)


def combined_status(view: View, repo: Repo, sha: str) -> dict[str, Any]:
    """GET .../commits/{ref}/status: failure beats pending beats success (none → pending)."""
    latest = latest_statuses(view, repo, sha)
    states = {s.state for s in latest}
    overall = ("failure" if states & {"error", "failure"}
               else "pending" if not states or "pending" in states else "success")
    api = view.repo_api(repo)
    return {"state": overall, "statuses": [status(view, s, creator=False) for s in latest],
            "sha": sha, "total_count": len(latest), "repository": view.repository(repo),
            "commit_url": f"{api}/commits/{sha}", "url": f"{api}/commits/{sha}/status"}


def suite_pulls(view: View, repo: Repo, sha: str) -> list[dict[str, Any]]:
    """The open pull requests of ``repo`` whose head is ``sha`` on a branch of ``repo`` itself:
    GitHub leaves pull requests from forks out of check runs and suites."""
    api = view.repo_api(repo)
    mini_repo = {"id": repo.id, "url": api, "name": repo.name}
    pulls = []
    for issue in view.state.issues.values():
        pull = issue.pull
        if (pull and issue.repo == repo.key and issue.state == "open"
                and pull.head_repo == repo.key and pull.head_sha == sha):
            pulls.append({"url": f"{api}/pulls/{issue.number}", "id": pull.id,
                          "number": issue.number,
                          "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": mini_repo},
                          "base": {"ref": pull.base_ref, "sha": pull.base_sha,
                                   "repo": mini_repo}})
    return pulls


def check_run(view: View, run: CheckRun) -> dict[str, Any]:
    """A check run, with the open same-repo pull requests whose head is its sha."""
    repo = view.state.repos[run.repo]
    api = view.repo_api(repo)
    url = f"{api}/check-runs/{run.id}"
    output = {"title": run.output.get("title"), "summary": run.output.get("summary"),
              "text": run.output.get("text"), "annotations_count": run.annotations_count,
              "annotations_url": f"{url}/annotations"}
    return {
        "id": run.id, "name": run.name, "node_id": node_id("CheckRun", run.id),
        "head_sha": run.head_sha, "external_id": run.external_id, "url": url,
        "html_url": f"{view.base}/{repo.full_name}/runs/{run.id}",
        "details_url": run.details_url, "status": run.status, "conclusion": run.conclusion,
        "started_at": run.started_at, "completed_at": run.completed_at, "output": output,
        "check_suite": {"id": run.suite_id}, "app": view.integration(),
        "pull_requests": suite_pulls(view, repo, run.head_sha),
    }


def check_suite(view: View, repo: Repo, suite_id: int, sha: str) -> dict[str, Any]:
    """The App's check suite on ``sha`` as webhooks carry it (status and conclusion roll up its
    check runs; ``head_branch`` is null and ``pull_requests`` empty for a fork's commit)."""
    runs = [r for r in view.state.check_runs.values()
            if r.repo == repo.key and r.suite_id == suite_id]
    done = bool(runs) and all(r.status == "completed" for r in runs)
    status = ("completed" if done else "in_progress" if any(r.status != "queued" for r in runs)
              else "queued")
    found = {r.conclusion for r in runs}
    conclusion = next((c for c in SUITE_CONCLUSIONS if c in found), None) if done else None
    commit = view.state.commits[sha]
    branch = next((name for name, tip in sorted(repo.branches.items()) if tip == sha), None)
    author = view.state.user(commit.author)
    person = {"name": author.login, "email": f"{author.id}+{author.login}@users.noreply"}
    api = view.repo_api(repo)
    started = [r.started_at for r in runs if r.started_at] or [view.state.started_at]
    changed = [r.completed_at or r.started_at or started[0] for r in runs] or started
    return {
        "id": suite_id, "node_id": node_id("CheckSuite", suite_id), "head_branch": branch,
        "head_sha": sha, "status": status, "conclusion": conclusion,
        "url": f"{api}/check-suites/{suite_id}", "before": commit.parent or git.ZERO_SHA,
        "after": sha, "pull_requests": suite_pulls(view, repo, sha), "app": view.integration(),
        "created_at": min(started), "updated_at": max(changed),
        "latest_check_runs_count": len({r.name for r in runs}),
        "check_runs_url": f"{api}/check-suites/{suite_id}/check-runs",
        "head_commit": {"id": sha, "tree_id": git.tree_sha(commit.tree),
                        "message": commit.message, "timestamp": commit.timestamp,
                        "author": person, "committer": dict(person)},
    }


def deployment(view: View, item: Deployment) -> dict[str, Any]:
    """A deployment."""
    repo = view.state.repos[item.repo]
    api = view.repo_api(repo)
    url = f"{api}/deployments/{item.id}"
    return {
        "url": url, "id": item.id, "node_id": node_id("Deployment", item.id), "sha": item.sha,
        "ref": item.ref, "task": item.task, "payload": item.payload,
        "original_environment": item.environment, "environment": item.environment,
        "description": item.description, "creator": view.user(item.creator),
        "created_at": item.created_at, "updated_at": item.created_at,
        "statuses_url": f"{url}/statuses", "repository_url": api,
        "transient_environment": item.transient_environment,
        "production_environment": item.production_environment,
        "performed_via_github_app": view.integration() if item.via_app else None,
    }


def deployment_status(view: View, item: DeploymentStatus) -> dict[str, Any]:
    """A deployment status."""
    dep = view.state.deployments[item.deployment_id]
    api = view.repo_api(view.state.repos[dep.repo])
    dep_url = f"{api}/deployments/{dep.id}"
    return {
        "url": f"{dep_url}/statuses/{item.id}", "id": item.id,
        "node_id": node_id("DeploymentStatus", item.id), "state": item.state,
        "creator": view.user(item.creator), "description": item.description,
        "environment": item.environment, "target_url": item.target_url,
        "created_at": item.created_at, "updated_at": item.created_at,
        "deployment_url": dep_url, "repository_url": api,
        "environment_url": item.environment_url, "log_url": item.log_url,
        "performed_via_github_app": view.integration() if item.via_app else None,
    }


def _content_entry(view: View, where: tuple[Repo, str, str], path: str, kind: str,
                   sha: str, size: int) -> dict[str, Any]:
    repo, ref, commit = where
    api = f"{view.repo_api(repo)}/contents/{path}?ref={ref}"
    html = f"{view.base}/{repo.full_name}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
    git_url = f"{view.repo_api(repo)}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
    raw = f"{view.base}/_raw/{repo.full_name}/{commit}/{path}" if kind == "file" else None
    return {"name": path.rsplit("/", 1)[-1], "path": path, "sha": sha, "size": size,
            "url": api, "html_url": html, "git_url": git_url, "download_url": raw,
            "type": kind, "_links": {"self": api, "git": git_url, "html": html}}


def content_file(view: View, where: tuple[Repo, str, str], path: str,
                 data: bytes) -> dict[str, Any]:
    """A file from the contents API: base64 in 60-character lines, as GitHub sends it.

    ``where`` is (repository, ref as asked, commit sha)."""
    encoded = base64.b64encode(data).decode()
    lines = "".join(encoded[i:i + 60] + "\n" for i in range(0, len(encoded), 60))
    entry = _content_entry(view, where, path, "file", git.blob_sha(data), len(data))
    return {**entry, "content": lines, "encoding": "base64"}


def content_directory(view: View, where: tuple[Repo, str, str], path: str,
                      tree: dict[str, bytes]) -> list[dict[str, Any]]:
    """A directory listing from the contents API (``path`` "" is the root)."""
    prefix = f"{path}/" if path else ""
    files: dict[str, bytes] = {}
    dirs: dict[str, dict[str, bytes]] = {}
    for full, data in tree.items():
        if not full.startswith(prefix):
            continue
        head, sep, _ = full[len(prefix):].partition("/")
        if sep:
            dirs.setdefault(prefix + head, {})[full] = data
        else:
            files[full] = data
    entries = [_content_entry(view, where, p, "dir", git.tree_sha(sub), 0)
               for p, sub in dirs.items()]
    entries += [_content_entry(view, where, p, "file", git.blob_sha(d), len(d))
                for p, d in files.items()]
    return sorted(entries, key=lambda e: e["name"])
