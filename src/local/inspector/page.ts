/**
 * The inspector page: one self-contained HTML document (inline CSS, a little vanilla JS, an
 * inline SVG chart), no external requests, so it works offline. The first summary is embedded
 * in the page; the script then polls `summary.json` every two seconds and redraws.
 */
export const SUMMARY_PATH = '/inspector/summary.json';

/** JSON safe to embed in a <script> element. */
function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const CSS = `
:root{--fg:#1b1f24;--muted:#5b6472;--line:#e3e6ea;--accent:#3b5bdb;--warn:#b35c00;--bg:#f7f8fa}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#fff;border-bottom:1px solid var(--line);padding:14px 24px}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0 0 8px}
.sub{color:var(--muted);font-size:13px;margin-top:4px}code{background:#eef1f5;padding:1px 5px;border-radius:4px}
main{padding:16px 24px;display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(520px,1fr))}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px;min-width:0}
.wide{grid-column:1/-1}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{flex:1 1 140px;background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card .v{font-size:22px;font-weight:600}.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--muted);font-weight:500;font-size:12px}td.wrap{white-space:normal}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.key{white-space:normal;overflow-wrap:anywhere;min-width:14ch}
.scroll{overflow-x:auto}.warn{color:var(--warn)}.muted{color:var(--muted)}
.badge{display:inline-block;font-size:12px;padding:1px 8px;border-radius:10px;background:#e7ecff;color:var(--accent);margin-left:8px}
svg text{font-size:11px;fill:var(--muted)}svg rect.bar{fill:var(--accent)}
`;

const SCRIPT = `
(function(){
  var state = JSON.parse(document.getElementById('initial').textContent);
  var $ = function(id){ return document.getElementById(id); };
  function esc(s){ return String(s == null ? '' : s).replace(/[&<>"']/g, function(c){ return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]; }); }
  // Rounded for display (the sums of floats carry noise past the sixth decimal).
  function usd(v){ return v == null ? '—' : '$' + Number(v).toFixed(6); }
  function part(v){ return v ? num(v) : '<span class="muted">0</span>'; }
  function num(v){ return Number(v || 0).toLocaleString('en-US'); }
  // The time of day in the table (the date in its tooltip): the row must fit beside its tokens.
  function time(s){ if (!s) return ''; var d = new Date(s); return isNaN(d) ? esc(s) : '<span title="' + esc(d.toLocaleString()) + '">' + esc(d.toLocaleTimeString()) + '</span>'; }
  var REASONS = {
    missing_usage: 'LLM call with no token usage on its span (OpenAI streaming: set stream_options.include_usage)',
    failed_no_usage: 'the provider call failed and reported no usage (not billable)',
    missing_model: 'usage but no model id on the span',
    invalid_usage: 'a token count that is not a whole number in range (NaN, negative, fractional, above the per-call ceiling)',
    invalid: 'cannot be billed as it is (e.g. a model id longer than 256 characters, or the wire schema refused it)',
    aggregate: 'framework span repeating its child call (billed once, from the child)',
    duplicate: 'the same provider call seen twice (billed once)',
    conversion_error: 'internal conversion error (see the logs)',
    unknown_model: 'the price catalog does not know this model (add a price override)',
    unknown_provider: 'the price catalog does not know this provider',
    not_priced_locally: 'written without a local price'
  };
  function reasons(obj){
    var keys = Object.keys(obj || {});
    if (!keys.length) return '<p class="muted">none</p>';
    return '<table><tbody>' + keys.sort(function(a,b){ return obj[b]-obj[a]; }).map(function(k){
      return '<tr><td><code>' + esc(k) + '</code></td><td class="n">' + num(obj[k]) + '</td><td class="muted wrap">' + esc(REASONS[k.replace(/^rejected_/, '')] || (k.indexOf('rejected_') === 0 ? 'refused by the destination' : '')) + '</td></tr>';
    }).join('') + '</tbody></table>';
  }
  function totalsTable(rows, label){
    if (!rows.length) return '<p class="muted">no transactions yet</p>';
    return '<table><thead><tr><th>' + label + '</th><th class="n">transactions</th><th class="n">in tokens</th><th class="n">out tokens</th><th class="n">est. USD</th><th class="n">unpriced</th></tr></thead><tbody>' +
      rows.map(function(r){ var t = r.totals; return '<tr><td class="key">' + esc(r.key) + '</td><td class="n">' + num(t.transactions) + '</td><td class="n">' + num(t.inputTokens) + '</td><td class="n">' + num(t.outputTokens) + '</td><td class="n">' + (t.unpriced && t.unpriced === t.transactions ? '<span class="muted" title="unpriced">—</span>' : usd(t.usd)) + '</td><td class="n">' + num(t.unpriced) + '</td></tr>'; }).join('') + '</tbody></table>';
  }
  function chart(series){
    if (!series.length) return '<p class="muted">no data yet</p>';
    var W = 900, H = 180, L = 70, B = 22, T = 8;
    var max = Math.max.apply(null, series.map(function(b){ return b.usd; })) || 1;
    var bw = (W - L) / series.length, gap = Math.max(1, bw * 0.15);
    var out = '<svg id="chart" viewBox="0 0 ' + W + ' ' + (H + B + T) + '" width="100%" role="img" aria-label="Estimated spend over time">';
    out += '<text x="0" y="' + (T + 10) + '">' + usd(max) + '</text><text x="0" y="' + (T + H) + '">$0</text>';
    out += '<line x1="' + L + '" x2="' + W + '" y1="' + (T + H) + '" y2="' + (T + H) + '" stroke="#ccd"/>';
    series.forEach(function(b, i){
      var h = b.usd / max * (H - 4);
      out += '<rect class="bar" x="' + (L + i * bw + gap).toFixed(1) + '" y="' + (T + H - h).toFixed(1) + '" width="' + Math.max(1, bw - 2 * gap).toFixed(1) + '" height="' + h.toFixed(1) + '"><title>' + esc(new Date(b.start).toLocaleTimeString()) + ': ' + usd(b.usd) + ' (' + b.transactions + ' transactions)</title></rect>';
    });
    var first = new Date(series[0].start), last = new Date(series[series.length - 1].end);
    out += '<text x="' + L + '" y="' + (T + H + 16) + '">' + esc(first.toLocaleTimeString()) + '</text>';
    out += '<text x="' + W + '" y="' + (T + H + 16) + '" text-anchor="end">' + esc(last.toLocaleTimeString()) + '</text>';
    return out + '</svg>';
  }
  function render(s){
    $('mode').textContent = s.mode === 'local' ? 'local mode' : 'sending to Fenra';
    $('destination').textContent = s.destination;
    $('endpoint').textContent = s.otlpEndpoint;
    $('c-transactions').textContent = num(s.totals.transactions);
    $('c-usd').textContent = usd(s.totals.usd);
    $('c-unpriced').textContent = num(s.totals.unpriced);
    $('c-unattributed').textContent = num(s.unattributed);
    $('c-cache-gap').textContent = num(s.cacheSplitMissing);
    $('c-reasoning-gap').textContent = num(s.reasoningMissing);
    $('c-dropped').textContent = num(s.droppedTotal);
    $('c-dropped-note').textContent = s.droppedElsewhere ? num(s.droppedElsewhere) + ' billed once from another span' : '';
    $('chart-box').innerHTML = chart(s.series);
    $('by-customer').innerHTML = totalsTable(s.byCustomer, 'customer');
    $('by-model').innerHTML = totalsTable(s.byModel, 'model');
    $('unpriced').innerHTML = reasons(s.unpricedReasons);
    $('dropped').innerHTML = reasons(s.dropped);
    $('rows').innerHTML = s.recent.length ? s.recent.map(function(r){
      return '<tr><td>' + time(r.time) + '</td><td>' + esc(r.customer) + '</td><td>' + esc(r.provider) + '</td><td class="key">' + esc(r.model) + '</td><td class="n">' + num(r.inputTokens) + '</td><td class="n">' + part(r.cacheReadTokens) + '</td><td class="n">' + part(r.cacheWriteTokens) + '</td><td class="n">' + num(r.outputTokens) + '</td><td class="n">' + part(r.reasoningTokens) + '</td><td class="n">' + usd(r.usd) + '</td><td>' + esc(r.priceSource) + (r.unpricedReason ? ' <span class="warn">(' + esc(r.unpricedReason) + ')</span>' : '') + '</td></tr>';
    }).join('') : '<tr><td colspan="11" class="muted">no transactions yet</td></tr>';
    $('updated').textContent = new Date(s.generatedAt).toLocaleTimeString();
    document.body.setAttribute('data-transactions', String(s.totals.transactions));
  }
  function poll(){
    fetch('${SUMMARY_PATH}', { cache: 'no-store' }).then(function(r){ return r.ok ? r.json() : null; })
      .then(function(s){ if (s) { state = s; render(s); $('status').textContent = ''; } })
      .catch(function(){ $('status').textContent = ' (sidecar not reachable)'; })
      .then(function(){ setTimeout(poll, 2000); });
  }
  render(state);
  setTimeout(poll, 2000);
})();
`;

export function renderPage(initial: unknown): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>fenra-otel inspector</title><style>${CSS}</style></head>
<body>
<header>
  <h1>fenra-otel inspector <span class="badge" id="mode"></span></h1>
  <div class="sub">Point an app here: <code>OTEL_EXPORTER_OTLP_ENDPOINT=<span id="endpoint"></span></code>
  · transactions go to <code id="destination"></code> · updated <span id="updated"></span><span id="status" class="warn"></span></div>
</header>
<main>
  <div class="cards wide">
    <div class="card"><div class="k">transactions</div><div class="v" id="c-transactions"></div></div>
    <div class="card"><div class="k">estimated spend</div><div class="v" id="c-usd"></div></div>
    <div class="card"><div class="k">unpriced</div><div class="v" id="c-unpriced"></div></div>
    <div class="card"><div class="k">unattributed</div><div class="v" id="c-unattributed"></div></div>
    <div class="card" title="the instrumentation drops the cached part of the input: cached input billed at the full rate"><div class="k">no cache split</div><div class="v" id="c-cache-gap"></div></div>
    <div class="card" title="the instrumentation leaves reasoning (thinking) tokens out of the output: billed without them"><div class="k">no reasoning count</div><div class="v" id="c-reasoning-gap"></div></div>
    <div class="card" title="spans that gave no transaction, as in the table 'Spans not billed, by reason'"><div class="k">not billed</div><div class="v" id="c-dropped"></div><div class="muted" id="c-dropped-note"></div></div>
  </div>
  <section class="wide"><h2>Estimated spend over time</h2><div id="chart-box"></div></section>
  <section><h2>Per customer</h2><div class="scroll" id="by-customer"></div></section>
  <section><h2>Per model</h2><div class="scroll" id="by-model"></div></section>
  <section><h2>Unpriced transactions, by reason</h2><div id="unpriced"></div></section>
  <section><h2>Spans not billed, by reason</h2><div id="dropped"></div></section>
  <section class="wide"><h2>Recent transactions</h2><div class="scroll"><table>
    <thead><tr><th>time</th><th>customer</th><th>provider</th><th>model</th><th class="n">input tokens</th><th class="n" title="of the input: read from the provider's cache (a lower rate)">cache read</th><th class="n" title="of the input: written to the provider's cache (a higher rate)">cache write</th><th class="n">output tokens</th><th class="n" title="of the output">reasoning</th><th class="n">est. USD</th><th>price source</th></tr></thead>
    <tbody id="rows"></tbody></table></div></section>
</main>
<noscript><p style="padding:0 24px">The page needs JavaScript; the same data is at <a href="${SUMMARY_PATH}">${SUMMARY_PATH}</a>.</p></noscript>
<script id="initial" type="application/json">${embedJson(initial)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
