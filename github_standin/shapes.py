"""GitHub-shaped JSON for users, repositories, issues, pull requests, comments and the App.

Key sets and order follow the real deliveries in the corpus; URLs use the sandbox base URL
for both the API and the web side.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from github_standin.actions import merge_block_reason, pull_stats
from github_standin.apps import StandinApp
from github_standin.models import Comment, Issue, Reaction, Repo
from github_standin.state import SandboxState

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
_REPO_TEMPLATES = {
    "forks_url": "/forks", "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}", "teams_url": "/teams",
    "hooks_url": "/hooks", "issue_events_url": "/issues/events{/number}", "events_url": "/events",
    "assignees_url": "/assignees{/user}", "branches_url": "/branches{/branch}",
    "tags_url": "/tags", "blobs_url": "/git/blobs{/sha}", "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}", "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}", "languages_url": "/languages",
    "stargazers_url": "/stargazers", "contributors_url": "/contributors",
    "subscribers_url": "/subscribers", "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}", "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}", "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}", "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges", "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads", "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}", "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}", "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}


def node_id(kind: str, id_: int) -> str:
    """GitHub's legacy global id, e.g. ``node_id("User", 1)`` → ``MDQ6VXNlcjE=``."""
    return base64.b64encode(f"0{len(kind)}:{kind}{id_}".encode()).decode()


class View:
    """Renders state as GitHub JSON for one base URL."""

    def __init__(self, state: SandboxState, base: str) -> None:
        self.state = state
        self.base = base.rstrip("/")

    def repo_api(self, repo: Repo) -> str:
        """``{base}/repos/{owner}/{name}``."""
        return f"{self.base}/repos/{repo.full_name}"

    def user(self, login: str) -> dict[str, Any]:
        """A simple-user object."""
        u = self.state.user(login)
        api = f"{self.base}/users/{u.login}"
        web = (f"{self.base}/apps/{u.login.removesuffix('[bot]')}" if u.type == "Bot"
               else f"{self.base}/{u.login}")
        return {
            "login": u.login, "id": u.id, "node_id": node_id(u.type, u.id),
            "avatar_url": f"{self.base}/avatars/u/{u.id}?v=4", "gravatar_id": "", "url": api,
            "html_url": web, "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions", "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events", "type": u.type,
            "user_view_type": "public", "site_admin": False,
        }

    def repository(self, repo: Repo, *, push: bool = False) -> dict[str, Any]:
        """A repository object; ``push=True`` gives the quirks of ``push`` payloads."""
        api, web = self.repo_api(repo), f"{self.base}/{repo.full_name}"
        open_issues = sum(1 for i in self.state.issues.values()
                          if i.repo == repo.key and i.state == "open")
        forks = sum(1 for r in self.state.repos.values() if r.fork_of == repo.key)
        owner = self.user(repo.owner)
        if push:
            owner = {"name": repo.owner, "email": f"{owner['id']}+{repo.owner}@users.noreply",
                     **owner}
        data: dict[str, Any] = {
            "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name,
            "full_name": repo.full_name, "private": False, "owner": owner, "html_url": web,
            "description": None, "fork": repo.fork_of is not None,
            "url": web if push else api,
            **{key: api + suffix for key, suffix in _REPO_TEMPLATES.items()},
            "created_at": _epoch(repo.created_at) if push else repo.created_at,
            "updated_at": repo.pushed_at,
            "pushed_at": _epoch(repo.pushed_at) if push else repo.pushed_at,
            "git_url": f"git://{web.split('://', 1)[-1]}.git",
            "ssh_url": f"git@sandbox:{repo.full_name}.git", "clone_url": f"{web}.git",
            "svn_url": web, "homepage": None, "size": 0, "stargazers_count": 0,
            "watchers_count": 0, "language": None, "has_issues": True, "has_projects": True,
            "has_downloads": True, "has_wiki": True, "has_pages": False, "forks_count": forks,
            "mirror_url": None, "archived": False, "disabled": False,
            "open_issues_count": open_issues, "license": None, "forks": forks,
            "open_issues": open_issues, "watchers": 0, "default_branch": repo.default_branch,
        }
        if push:
            data.update(stargazers=0, master_branch=repo.default_branch)
        data.update(is_template=False, topics=[], visibility="public",
                    web_commit_signoff_required=False, custom_properties={})
        return data

    def _branch(self, repo_key: str, ref: str, sha: str) -> dict[str, Any]:
        repo = self.state.repos[repo_key]
        return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha,
                "user": self.user(repo.owner), "repo": self.repository(repo)}

    def pull_request(self, issue: Issue) -> dict[str, Any]:
        """A pull-request object (REST ``pulls/get`` and webhook ``pull_request``)."""
        pull = issue.pull
        assert pull is not None
        repo = self.state.repos[issue.repo]
        api, web = f"{self.repo_api(repo)}", f"{self.base}/{repo.full_name}"
        url, html = f"{api}/pulls/{issue.number}", f"{web}/pull/{issue.number}"
        issue_url = f"{api}/issues/{issue.number}"
        links = {"self": url, "html": html, "issue": issue_url,
                 "comments": f"{issue_url}/comments",
                 "review_comments": f"{url}/comments",
                 "review_comment": f"{api}/pulls/comments{{/number}}",
                 "commits": f"{url}/commits", "statuses": f"{api}/statuses/{pull.head_sha}"}
        commits, additions, deletions, changed = pull_stats(self.state, issue)
        is_open = issue.state == "open"
        blocked = is_open and merge_block_reason(self.state, issue) is not None
        state_name = "draft" if pull.draft else "blocked" if blocked else "clean"
        return {
            "url": url, "id": pull.id, "node_id": node_id("PullRequest", pull.id),
            "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "issue_url": issue_url, "number": issue.number, "state": issue.state,
            "locked": False, "title": issue.title, "user": self.user(issue.user),
            "body": issue.body, "created_at": issue.created_at, "updated_at": issue.updated_at,
            "closed_at": issue.closed_at, "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha, "assignee": None, "assignees": [],
            "requested_reviewers": [], "requested_teams": [], "labels": [], "milestone": None,
            "commits_url": links["commits"], "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"], "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "head": self._branch(pull.head_repo, pull.head_ref, pull.head_sha),
            "base": self._branch(issue.repo, pull.base_ref, pull.base_sha),
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": issue.author_association, "auto_merge": None,
            "active_lock_reason": None, "draft": pull.draft, "merged": pull.merged,
            "mergeable": True if is_open else None, "rebaseable": True if is_open else None,
            "mergeable_state": state_name if is_open else "unknown",
            "merged_by": self.user(pull.merged_by) if pull.merged_by else None,
            "comments": self._comment_count(issue), "review_comments": 0,
            "maintainer_can_modify": pull.head_repo != issue.repo, "commits": commits,
            "additions": additions, "deletions": deletions, "changed_files": changed,
        }

    def _comment_count(self, issue: Issue) -> int:
        return sum(1 for c in self.state.comments.values()
                   if c.repo == issue.repo and c.issue_number == issue.number)

    def issue(self, issue: Issue) -> dict[str, Any]:
        """An issue object; pull requests carry a ``pull_request`` key, as on GitHub."""
        repo = self.state.repos[issue.repo]
        api, web = self.repo_api(repo), f"{self.base}/{repo.full_name}"
        url = f"{api}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        data: dict[str, Any] = {
            "url": url, "repository_url": api, "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events",
            "html_url": f"{web}/{kind}/{issue.number}", "id": issue.id,
            "node_id": node_id("Issue", issue.id), "number": issue.number,
            "title": issue.title, "body": issue.body, "user": self.user(issue.user), "labels": [],
            "state": issue.state, "locked": False, "assignee": None, "assignees": [],
            "milestone": None, "comments": self._comment_count(issue),
            "created_at": issue.created_at, "updated_at": issue.updated_at,
            "closed_at": issue.closed_at, "author_association": issue.author_association,
            "active_lock_reason": None,
        }
        if issue.pull:
            html = f"{web}/pull/{issue.number}"
            data["draft"] = issue.pull.draft
            data["pull_request"] = {"url": f"{api}/pulls/{issue.number}", "html_url": html,
                                    "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
                                    "merged_at": issue.pull.merged_at}
        data.update(body=issue.body, reactions=self._rollup(f"{url}/reactions", []),
                    timeline_url=f"{url}/timeline", performed_via_github_app=None,
                    state_reason="completed" if issue.state == "closed" else None)
        return data

    def comment(self, comment: Comment) -> dict[str, Any]:
        """An issue-comment object."""
        repo = self.state.repos[comment.repo]
        issue = self.state.issues[(comment.repo, comment.issue_number)]
        api = self.repo_api(repo)
        url = f"{api}/issues/comments/{comment.id}"
        kind = "pull" if issue.pull else "issues"
        reactions = [r for r in self.state.reactions if r.comment_id == comment.id]
        return {
            "url": url,
            "html_url": f"{self.base}/{repo.full_name}/{kind}/{issue.number}"
                        f"#issuecomment-{comment.id}",
            "issue_url": f"{api}/issues/{issue.number}", "id": comment.id,
            "node_id": node_id("IssueComment", comment.id), "user": self.user(comment.user),
            "created_at": comment.created_at, "updated_at": comment.updated_at,
            "author_association": comment.author_association, "body": comment.body,
            "reactions": self._rollup(f"{url}/reactions", reactions),
            "performed_via_github_app": self.integration() if comment.via_app else None,
        }

    def _rollup(self, url: str, reactions: list[Reaction]) -> dict[str, Any]:
        counts = {name: sum(1 for r in reactions if r.content == name) for name in REACTIONS}
        return {"url": url, "total_count": len(reactions), **counts}

    def reaction(self, reaction: Reaction) -> dict[str, Any]:
        """A reaction object."""
        return {"id": reaction.id, "node_id": node_id("Reaction", reaction.id),
                "user": self.user(reaction.user), "content": reaction.content,
                "created_at": reaction.created_at}

    def integration(self, app: StandinApp | None = None) -> dict[str, Any]:
        """A GitHub App (the configured one by default)."""
        app = app or self.state.app
        return {
            "id": app.id, "slug": app.slug, "node_id": node_id("App", app.id),
            "client_id": app.client_id, "owner": self.user(app.owner), "name": app.name,
            "description": app.description or "GitHub App served by modelgate sandbox",
            "external_url": app.external_url or self.base, "html_url": f"{self.base}/apps/{app.slug}",
            "created_at": self.state.started_at, "updated_at": self.state.started_at,
            "permissions": dict(app.permissions), "events": list(app.events),
        }

    def installation(self, account: str, app: StandinApp | None = None) -> dict[str, Any]:
        """The App's single installation (covering every repository), seen from ``account``'s repository."""
        app = app or self.state.app
        owner = self.user(account)
        inst = app.installation_id
        return {
            "id": inst, "account": owner, "repository_selection": "all",
            "access_tokens_url": f"{self.base}/app/installations/{inst}/access_tokens",
            "repositories_url": f"{self.base}/installation/repositories",
            "html_url": f"{self.base}/settings/installations/{inst}", "app_id": app.id,
            "app_slug": app.slug, "client_id": app.client_id,
            "target_id": owner["id"], "target_type": owner["type"],
            "permissions": dict(app.permissions), "events": list(app.events),
            "created_at": self.state.started_at, "updated_at": self.state.started_at,
            "single_file_name": None, "has_multiple_single_files": False,
            "single_file_paths": [], "suspended_by": None, "suspended_at": None,
        }

    def repository_stub(self, repo: Any) -> dict[str, Any]:
        """A repository as ``installation`` events list it."""
        return {"id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name,
                "full_name": repo.full_name, "private": False}

    def installation_ref(self) -> dict[str, Any]:
        """``{"id", "node_id"}`` as carried by webhook payloads."""
        inst = self.state.config.installation_id
        return {"id": inst, "node_id": node_id("IntegrationInstallation", inst)}


def _epoch(stamp: str) -> int:
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
