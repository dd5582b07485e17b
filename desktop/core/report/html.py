"""The correction report as one self-contained HTML file: inline CSS, thumbnails embedded as
base64 JPEG data URIs, no script, no external reference, so it opens offline and can be
attached to a ticket or mailed as is."""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from . import fmt
from .diff import CHANGE_KINDS, Report
from .thumbs import render

MAX_THUMBNAILS = 120  # the most-changed images first; beyond this the file gets heavy

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:2px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666}.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:14px}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:22px}.card span{color:#666}
table{border-collapse:collapse;margin-top:8px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}.sw{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.bar{background:#eee;border-radius:3px;width:320px;height:12px;display:inline-block;vertical-align:middle}
.bar i{display:block;height:12px;border-radius:3px;background:#3cb44b}
.grid{display:flex;flex-wrap:wrap;gap:14px;margin-top:10px}figure{margin:0;width:320px}
figure img{display:block;max-width:320px;border:1px solid #ccc}figcaption{font-size:12px;color:#444;word-break:break-all}
.legend{color:#555;font-size:13px}
"""


def _bar(share: float) -> str:
    return f'<span class="bar"><i style="width:{max(0.0, min(1.0, share)) * 100:.1f}%"></i></span>'


def render_html(report: Report, store=None, max_thumbnails: int = MAX_THUMBNAILS) -> str:
    """The whole page. With `store`, changed images get before/after thumbnails."""
    names = {c.idx: c.name for c in report.per_class}
    colors = {c.idx: c.color for c in report.per_class}
    e = escape
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
           f"<title>Correction report: {e(report.project)}</title><style>{_CSS}</style></head><body>",
           f"<h1>Correction report: {e(report.project)}</h1>",
           f"<div class='sub'>{e(report.project_path)} &middot; generated {e(fmt.when(report.generated))} "
           f"&middot; {report.images} images, {report.labels_original} boxes imported, "
           f"{report.labels_current} now</div>",
           "<div class='cards'>",
           f"<div class='card'><b>{fmt.pct(report.share_changed)}</b><span>images changed "
           f"({report.images_changed} of {report.images})</span></div>"]
    for kind in CHANGE_KINDS:
        out.append(f"<div class='card'><b>{fmt.pct(report.shares[kind])}</b><span>images with boxes "
                   f"{fmt.KIND_TITLES[kind]} ({report.images_with[kind]}; {report.boxes[kind]} boxes)</span></div>")
    out.append("</div>")

    out.append("<h2>Per class</h2><table><tr><th>class</th><th>imported</th><th>now</th><th>added</th>"
               "<th>deleted</th><th>moved/resized</th><th>relabelled away</th><th>relabelled to</th></tr>")
    for c in report.per_class:
        out.append(f"<tr><td><span class='sw' style='background:{e(c.color)}'></span>{e(c.name)}</td>"
                   f"<td>{c.original}</td><td>{c.current}</td><td>{c.added}</td><td>{c.deleted}</td>"
                   f"<td>{c.moved}</td><td>{c.relabelled_from}</td><td>{c.relabelled_to}</td></tr>")
    out.append("</table>")
    if report.relabels:
        out.append("<h2>Class changes</h2><table><tr><th>from -&gt; to</th><th>boxes</th></tr>")
        out += [f"<tr><td>{e(k)}</td><td>{n}</td></tr>" for k, n in report.relabels.items()]
        out.append("</table>")

    iss = report.issues
    out.append(f"<h2>Issues</h2><p>{iss['found']} found: {iss['fixed']} fixed, {iss['dismissed']} dismissed "
               f"(the label was right), {iss['open']} still open.</p>")
    if report.issues_by_kind:
        out.append("<table><tr><th>kind</th><th>found</th><th>fixed</th><th>dismissed</th><th>open</th></tr>")
        for kind, st in sorted(report.issues_by_kind.items()):
            out.append(f"<tr><td>{e(kind)}</td><td>{sum(st.values())}</td><td>{st.get('fixed', 0)}</td>"
                       f"<td>{st.get('dismissed', 0)}</td><td>{st.get('open', 0)}</td></tr>")
        out.append("</table>")

    rv = report.review
    out.append(f"<h2>Review coverage</h2><p>{_bar(report.review_coverage)} {fmt.pct(report.review_coverage)} "
               f"reviewed ({rv.get('reviewed', 0)} of {report.images}); {rv.get('skipped', 0)} skipped, "
               f"{rv.get('unreviewed', 0)} not reviewed. {report.changed_reviewed} of the {report.images_changed} "
               f"changed images are marked reviewed.</p>")
    out.append(f"<h2>Time spent</h2><p>{fmt.duration(report.active_seconds)} of active work over "
               f"{report.edits} edits, from {e(fmt.when(report.first_edit))} to {e(fmt.when(report.last_edit))} "
               f"(gaps between edits count up to {fmt.duration(report.idle_cap_seconds)} each).</p>")

    if report.changes:
        shown = report.changes[:max_thumbnails] if store is not None else []
        out.append(f"<h2>Changed images</h2><p class='legend'>Dashed: the box as imported (changed or deleted). "
                   f"Thick solid: the box now (added or changed). Thin: unchanged. Colour: class. "
                   f"Most-changed first; showing {len(shown)} of {len(report.changes)}.</p><div class='grid'>")
        for ch in shown:
            out.append(_figure(store, ch, names, colors))
        out.append("</div>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _figure(store, ch, names, colors) -> str:
    image = store.image(ch.image_id)
    original = store.original_labels(ch.image_id)
    current = store.labels(ch.image_id)
    changed_original = set(ch.deleted)
    changed_current = set(ch.added) | set(ch.moved) | set(ch.class_changed)
    # A changed current box's original row is drawn dashed too, so before and after both show.
    rows = store.label_rows(sorted(changed_current)) if changed_current else []
    changed_original |= {r["original_id"] for r in rows if r.get("original_id") is not None}
    jpeg = render(Path(store.image_path(image)), image.width, image.height, original, current,
                  changed_original, changed_current, colors)
    data = base64.b64encode(jpeg).decode("ascii")
    return (f"<figure><img alt='{escape(ch.path)}' src='data:image/jpeg;base64,{data}'>"
            f"<figcaption><b>{escape(ch.path)}</b><br>{escape(fmt.change_summary(ch, names))}</figcaption></figure>")
