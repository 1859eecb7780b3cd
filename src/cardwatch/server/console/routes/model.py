"""The model: versions and metrics, curves, feature importance, and a threshold chooser."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cardwatch.server.console.charts import curve_chart, hbar_chart, line_chart
from cardwatch.server.console.deps import ConsoleDep, CurrentUser
from cardwatch.server.console.modelwork import curves, model_view, threshold_rows
from cardwatch.server.console.views import render

router = APIRouter(prefix="/model")

GRID = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99]


@router.get("", name="read_model", response_class=HTMLResponse)
def read_model(
    request: Request, console: ConsoleDep, user: CurrentUser, threshold: float = 0.9
) -> Response:
    view = model_view(console)
    threshold = min(max(threshold, 0.0), 1.0)
    roc, pr = curves(view.scores, view.labels)
    chosen = threshold_rows(view.scores, view.labels, view.cards, [threshold])
    table = threshold_rows(view.scores, view.labels, view.cards, GRID)
    point = None
    if roc and chosen:
        honest = max(int((view.labels == 0).sum()), 1)
        point = (chosen[0].honest_hit / honest, chosen[0].caught_share)
    honest_total = max(int((view.labels == 0).sum()), 1)
    tradeoff = (
        line_chart(
            [f"{g:g}" for g in GRID],
            {
                "fraud caught": [r.caught_share for r in table],
                "honest payments declined": [r.honest_hit / honest_total for r in table],
            },
            pct=True,
        )
        if view.scores.size
        else ""
    )
    return render(
        request,
        "model.html",
        view=view,
        threshold=threshold,
        chosen=chosen[0] if chosen else None,
        table=table,
        roc=curve_chart(
            {"live ROC": roc},
            "false positive rate",
            "true positive rate",
            marker=point,
            diagonal=True,
        )
        if roc
        else "",
        pr=curve_chart({"live precision-recall": pr}, "recall", "precision") if pr else "",
        importance=hbar_chart(view.importance),
        tradeoff=tradeoff,
        honest_total=honest_total,
    )
