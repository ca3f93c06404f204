"""State changes shared by the REST API and the control API (call them holding the lock)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from github_standin import git
from github_standin.errors import GitHubError, not_found, validation_failed
from github_standin.models import Comment, Commit, Issue, PullInfo, Repo
from github_standin.state import SandboxState, now_iso

PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})


@dataclass
class PushResult:
    """A branch update and the open pull requests whose head it moved."""

    repo: Repo
    branch: str
    before: str
    commit: Commit
    pusher: str
    synced: list[tuple[Issue, str]] = field(default_factory=list)  # (pull, head before)


def push(state: SandboxState, repo: Repo, branch: str, changes: dict[str, Any], message: str,
         author: str, *, replace_tree: bool = False) -> PushResult:
    """Commit on ``branch`` and move the heads/bases of the open pull requests it touches."""
    before, commit = state.commit(repo, branch, changes, message, author,
                                  replace_tree=replace_tree)
    result = PushResult(repo, branch, before, commit, author)
    for issue in state.issues.values():
        pull = issue.pull
        if pull is None or issue.state != "open":
            continue
        if pull.head_repo == repo.key and pull.head_ref == branch:
            result.synced.append((issue, pull.head_sha))
            pull.head_sha = commit.sha
            issue.updated_at = now_iso()
        if issue.repo == repo.key and pull.base_ref == branch:
            pull.base_sha = commit.sha
    return result


def fork(state: SandboxState, parent: Repo, owner: str) -> Repo:
    """``owner/<parent name>`` as a fork of ``parent`` with the same branches."""
    existing = state.repos.get(f"{owner}/{parent.name}".lower())
    if existing is not None:
        return existing
    repo = state.add_repo(owner, parent.name, parent.default_branch, fork_of=parent)
    repo.branches = dict(parent.branches)
    return repo


def open_pull(state: SandboxState, repo: Repo, *, head: str, base: str, title: str,
              author: str, body: str | None = None, fork_pr: bool = False, draft: bool = False,
              association: str | None = None) -> Issue:
    """Open a pull request; ``head`` may be ``user:branch`` (a fork's branch) as on GitHub."""
    head_owner, _, head_ref = head.rpartition(":")
    if head_owner and head_owner.lower() != repo.owner.lower():
        fork_pr = True
    head_repo = fork(state, repo, head_owner or author) if fork_pr else repo
    head_sha = head_repo.branches.get(head_ref)
    if head_sha is None:
        raise validation_failed("PullRequest", "head")
    if base not in repo.branches:
        raise validation_failed("PullRequest", "base")
    base_sha = repo.branches[base]
    if head_sha in state.ancestors(base_sha):
        raise validation_failed("PullRequest", "head", "custom",
                                f"No commits between {base} and {head}")
    for other in state.issues.values():
        p = other.pull
        if (p and other.state == "open" and other.repo == repo.key and p.head_ref == head_ref
                and p.head_repo == head_repo.key and p.base_ref == base):
            raise validation_failed("PullRequest", "head", "custom",
                                    f"A pull request already exists for "
                                    f"{head_repo.owner}:{head_ref}.")
    stamp = now_iso()
    issue = Issue(repo.key, _next_number(repo), state.next_id("issue"), title, body,
                  state.user(author).login, stamp, stamp,
                  association or state.association(repo, author, pull_author=True))
    issue.pull = PullInfo(state.next_id("pull"), head_repo.key, head_ref, head_sha, base,
                          base_sha, draft=draft)
    state.issues[(repo.key, issue.number)] = issue
    return issue


def create_issue(state: SandboxState, repo: Repo, title: str, body: str | None,
                 author: str) -> Issue:
    """Open a plain issue."""
    stamp = now_iso()
    issue = Issue(repo.key, _next_number(repo), state.next_id("issue"), title, body,
                  state.user(author).login, stamp, stamp, state.association(repo, author))
    state.issues[(repo.key, issue.number)] = issue
    return issue


def _next_number(repo: Repo) -> int:
    number = repo.next_number
    repo.next_number += 1
    return number


def get_issue(state: SandboxState, repo: Repo, number: int, *, pull: bool = False) -> Issue:
    """Issue (or, with ``pull``, pull request) ``number`` or 404."""
    issue = state.issues.get((repo.key, number))
    if issue is None or (pull and issue.pull is None):
        raise not_found()
    return issue


def add_comment(state: SandboxState, repo: Repo, number: int, body: Any, author: str, *,
                via_app: bool = False) -> Comment:
    """Comment on issue/PR ``number`` (404 when missing, 422 without a body)."""
    issue = get_issue(state, repo, number)
    if not isinstance(body, str) or not body:
        raise validation_failed("IssueComment", "body", "missing_field")
    stamp = now_iso()
    association = "NONE" if via_app else state.association(repo, author)
    comment = Comment(state.next_id("comment"), repo.key, number, body,
                      state.user(author).login, stamp, stamp, association, via_app)
    state.comments[comment.id] = comment
    issue.updated_at = stamp
    return comment


def context_state(state: SandboxState, repo: Repo, sha: str, context: str,
                  app_id: int | None = None) -> str:
    """``success``/``pending``/``failure``/``error`` for a required context, or ``missing``.

    The latest commit status with that context counts; without one, the latest check run
    whose name equals the context (success, neutral and skipped pass, as on GitHub). With
    ``app_id`` only statuses and check runs that App set count.
    """
    statuses = [s for s in state.statuses if s.repo == repo.key and s.sha == sha
                and s.context == context and app_id in (None, s.app_id)]
    if statuses:
        return statuses[-1].state
    runs = [r for r in state.check_runs.values() if r.repo == repo.key and r.head_sha == sha
            and r.name == context and app_id in (None, r.app_id)]
    if not runs:
        return "missing"
    run = runs[-1]
    if run.status != "completed":
        return "pending"
    return "success" if run.conclusion in PASSING_CONCLUSIONS else "failure"


def merge_block_reason(state: SandboxState, issue: Issue) -> str | None:
    """Why GitHub would refuse to merge now (its 405 message), or None."""
    pull = issue.pull
    if pull is None or issue.state != "open":
        return "Pull Request is not mergeable"
    if pull.draft:
        return "Pull Request is still a draft"
    repo = state.repos[issue.repo]
    protection = repo.protection.get(pull.base_ref)
    if protection is None:
        return None
    checks = protection.checks if protection.status_checks else []
    contexts = [ctx for ctx, _ in checks]
    failing = [(ctx, context_state(state, repo, pull.head_sha, ctx, app_id)) for ctx, app_id in checks]
    failing = [(ctx, st) for ctx, st in failing if st != "success"]
    behind = protection.strict and repo.branches[pull.base_ref] not in state.ancestors(pull.head_sha)
    if not failing and behind:
        return "Head branch is out of date with the base branch (strict status checks)."
    if not failing:
        return None
    if len(failing) == 1:
        ctx, st = failing[0]
        word = {"missing": "expected", "pending": "in progress"}.get(st, "failing")
        return f'Required status check "{ctx}" is {word}.'
    if all(st == "missing" for _, st in failing):
        return f"{len(failing)} of {len(contexts)} required status checks are expected."
    return f"{len(failing)} of {len(contexts)} required status checks have not succeeded."


def merge(state: SandboxState, issue: Issue, merged_by: str, *, sha: str | None = None,
          method: str = "merge", title: str | None = None,
          message: str | None = None) -> PushResult:
    """Merge: a new commit on the base branch with the head's tree (parent: the base tip)."""
    reason = merge_block_reason(state, issue)
    if reason is not None:
        raise GitHubError(405, reason)
    pull = issue.pull
    assert pull is not None
    if sha and sha != pull.head_sha:
        raise GitHubError(409, "Head branch was modified. Review and try the merge again.")
    repo = state.repos[issue.repo]
    head_repo = state.repos[pull.head_repo]
    if method == "merge":
        first = title or f"Merge pull request #{issue.number} from {head_repo.owner}/{pull.head_ref}"
        text = f"{first}\n\n{message if message is not None else issue.title}"
    else:
        text = (title or f"{issue.title} (#{issue.number})") + (f"\n\n{message}" if message else "")
    base_before = repo.branches[pull.base_ref]
    tree = state.commits[pull.head_sha].tree
    result = push(state, repo, pull.base_ref, dict(tree), text, merged_by, replace_tree=True)
    stamp = now_iso()
    pull.merged, pull.merged_at, pull.merged_by = True, stamp, state.user(merged_by).login
    pull.merge_commit_sha, pull.base_sha = result.commit.sha, base_before
    issue.state, issue.closed_at, issue.updated_at = "closed", stamp, stamp
    return result


def merge_answer(result: PushResult) -> dict[str, Any]:
    """GitHub's 200 body for a successful merge."""
    return {"sha": result.commit.sha, "merged": True,
            "message": "Pull Request successfully merged"}


def pull_stats(state: SandboxState, issue: Issue) -> tuple[int, int, int, int]:
    """(commits, additions, deletions, changed_files) of a pull request."""
    pull = issue.pull
    assert pull is not None
    base_line = set(state.ancestors(pull.base_sha))
    commits = 0
    merge_base: str | None = None
    for sha in state.ancestors(pull.head_sha):
        if sha in base_line:
            merge_base = sha
            break
        commits += 1
    before = state.commits[merge_base].tree if merge_base else {}
    return (commits, *git.diff_stats(before, state.commits[pull.head_sha].tree))
