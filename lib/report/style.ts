// The one stylesheet, inlined into every page: system fonts (nothing fetched), a reading column that narrows on phones,
// tables wider than the prose (up to the window) whose text columns wrap while numbers, statuses and identifiers stay
// on one line (a table that still cannot fit scrolls with its first column in view), figures at the column's width,
// and a print layout without backgrounds or page-split figures.
import { STATUS_COLOR } from "./colors.ts";

export const CSS = `
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;
  --pass:${STATUS_COLOR.PASS};--warn:${STATUS_COLOR.WARN};--fail:${STATUS_COLOR.FAIL};--skip:${STATUS_COLOR.SKIPPED};
  --info:${STATUS_COLOR.INFO}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:62rem;margin:0 auto;padding:1rem 1rem 3rem}
h1{font-size:1.6rem;margin:.5rem 0 0}
h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem}
.subtitle,figcaption,.caption,footer{color:var(--muted);font-size:.9rem}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:.05em .3em;border-radius:3px}
.table{overflow-x:auto;margin:1rem calc(50% - min(50vw - 1rem, 40rem))}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;min-width:50%}
th,td{padding:.3rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td,th{white-space:normal;overflow-wrap:break-word}td{overflow-wrap:anywhere}td.right,td.token{white-space:nowrap}td code{overflow-wrap:anywhere;word-break:normal}
.table th:first-child,.table td:first-child{position:sticky;left:0;background:var(--bg)}
th{font-weight:600;border-bottom:2px solid var(--line)}
.right{text-align:right}.empty{color:var(--muted);font-style:italic}.wrap{white-space:normal;min-width:18rem}
figure{margin:1.25rem 0}figure svg,figure img{width:100%;max-width:100%;height:auto}
figure [class*="-swatches"] svg{width:auto}
.badge{display:inline-block;white-space:nowrap;padding:0 .45em;border-radius:.8em;
  font-size:.8em;font-weight:600;color:#fff;background:var(--skip)}
.badge.pass{background:var(--pass)}
.badge.warn,.badge.unresolved{background:var(--warn)}
.badge.fail{background:var(--fail)}
.badge.info{background:var(--info)}
.note{border-left:4px solid var(--skip);padding:.4rem .8rem;background:#f6f8fa}
.note.pass{border-color:var(--pass)}
.note.warn,.note.unresolved{border-color:var(--warn)}
.note.fail{border-color:var(--fail)}
.note.info{border-color:var(--info)}
footer{max-width:62rem;margin:0 auto;padding:0 1rem 2rem}
@media (max-width:600px){body{font-size:14px}main{padding:.6rem}th,td{padding:.25rem .4rem}
  .table.cards{margin:1rem 0}.table.cards thead{display:none}
  .table.cards table,.table.cards tbody,.table.cards tr,.table.cards td{display:block;width:auto}
  .table.cards tr{border-bottom:1px solid var(--line);padding:.35rem 0}
  .table.cards td{border:none;padding:.05rem .2rem;text-align:left;white-space:normal;position:static}
  .table.cards td::before{content:attr(data-label) ": ";font-weight:600;color:var(--muted)}
  .table.cards td:first-child{font-weight:600}}
@media print{
  body{font-size:11pt}main{max-width:none}.note,code{background:none}figure,table{break-inside:avoid}a{color:inherit}
  .table{margin:1rem 0;overflow:visible}}
`;
