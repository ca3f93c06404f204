"""The dashboard body as a table of views: what each part shows, and untrusted text shown as text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.dashboard.checkbox import box_state
from bot.dashboard.render import Champion, DashboardView, OpenPull, Outcome, escape, render
from bot.feedback.names import DASHBOARD_MARKER

AT = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
HOSTILE = "Fix <img src=x onerror=alert(1)> @admin [click](http://evil.example) **now** | x `y`\n## header"


@pytest.mark.parametrize(
    ("view", "shown", "not_shown"),
    [
        (DashboardView(Champion("wine", None)),
         ["`wine` has no champion yet.", "No schedule:", "None yet.", "## Open pull requests\n\nNone."],
         ["## Champion history"]),
        (DashboardView(Champion("wine", 3, "http://127.0.0.1:5001/invocations", "mlflow-serve"),
                       [Outcome(9, AT, "schedule", "a" * 40, "promoted", 3, [("accuracy", 0.0123)]),
                        Outcome(8, AT, "merge of #4", "b" * 40, "rejected", None, [("f1_macro", -0.2)]),
                        Outcome(7, None, "push", None, "failed", None)],
                       "http://app/reports/tok/history.png", next_run=(AT, "0 3 * * 1")),
         ["`wine` version **3** serving at http://127.0.0.1:5001/invocations (mlflow\\-serve).",
          "| 2026-11-30 03:00 | 9 | schedule | `aaaaaaa` | promoted as version 3 | accuracy +0.0123 |",
          "| rejected | f1\\_macro -0.2000 |", "| 7 | push |  | failed | no champion |",
          "Next scheduled run: **2026-11-30 03:00 UTC** (`0 3 * * 1`).",
          "![Metric history of the promoted versions](http://app/reports/tok/history.png)"],
         []),
        (DashboardView(Champion("wine", 2), pulls=[OpenPull(5, HOSTILE, "failed", "accuracy 0.5 <b>"),
                                                   OpenPull(6, "plain", None)]),
         ["`wine` version **2** (not served by modelgate).", "| #6 plain | not run on its head yet |",
          "| #5 Fix &lt;img src=x onerror=alert\\(1\\)&gt; &#64;admin \\[click\\]"
          "\\(http\\://evil\\.example\\) \\*\\*now\\*\\* \\| x \\`y\\` \\#\\# header "
          "| failed: accuracy 0\\.5 &lt;b&gt; |"],
         ["<img", "@admin", "](http://evil", "\n## header"]),
    ],
)
def test_what_the_dashboard_shows(view: DashboardView, shown: list[str], not_shown: list[str]) -> None:
    body = render(view)
    assert body.startswith(DASHBOARD_MARKER) and box_state(body) is False  # the checkbox, unticked
    for text in shown:
        assert text in body
    for text in not_shown:
        assert text not in body


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain words", "plain words"),
        ("a\nb\r\n  c", "a b c"),  # one line: no new table row, no heading
        ("<script>&", "&lt;script&gt;&amp;"),
        ("@team-x", "&#64;team\\-x"),
        ("- [x] Retrain now <!-- modelgate:retrain-now -->",
         "\\- \\[x\\] Retrain now &lt;\\!\\-\\- modelgate\\:retrain\\-now \\-\\-&gt;"),
    ],
)
def test_untrusted_text_is_escaped(text: str, escaped: str) -> None:
    assert escape(text) == escaped
