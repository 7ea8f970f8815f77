// The dashboard's script (plain browser JavaScript, no build step). It reads the
// whole state once from GET /api/dashboard and paints it, then follows the event
// stream: an event makes it read the state again (one read at a time), progress is
// painted as it comes, and elapsed times tick every second.
'use strict';
const OUTCOMES = [
  ['completed', 'completed'],
  ['cancelled', 'cancelled'],
  ['timedOut', 'timed_out'],
  ['failed', 'failed'],
];
// Events that change what the page shows (output lines and steps do not).
const EVENTS = ['task:submitted', 'task:queued', 'task:started', 'task:retrying', 'task:completed', 'task:failed', 'task:cancelled', 'task:timed_out',
  'lock:waiting', 'lock:acquired', 'ratelimit:waiting', 'resource:throttled', 'resource:recovered', 'attempt:interrupted',
  'workflow:started', 'workflow:phase-started', 'workflow:phase-completed', 'workflow:completed', 'workflow:failed', 'workflow:cancelled',
  'supervisor:restarted', 'supervisor:quarantined', 'task:waiting', 'task:signalled', 'schedule:fired'];

let token = new URLSearchParams(location.hash.slice(1)).get('token') || localStorage.getItem('steward-token');
if (location.hash.includes('token=')) { localStorage.setItem('steward-token', token); history.replaceState(null, '', location.pathname); }
let view;
let skew = 0; // server time minus this browser's time
let selected;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
// A code such as STEWARD_TIMEOUT may wrap after an underscore rather than spill over.
const breakable = (code) => esc(code).replace(/_/g, '_<wbr>');
const serverNow = () => Date.now() + skew;
function dur(v) {
  if (v === undefined || v === null) return '';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)} s`;
  if (v < 3_600_000) return `${Math.floor(v / 60_000)} min ${Math.floor((v % 60_000) / 1000)} s`;
  return `${Math.floor(v / 3_600_000)} h ${Math.floor((v % 3_600_000) / 60_000)} min`;
}
function clock(at, seconds = true) {
  const d = new Date(at);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), hour12: false });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}
// A command line as a shell would read it back.
const commandLine = (argv) => argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
const taskLink = (id) => `<a class="id" href="#task-${esc(id)}" data-show="${esc(id)}" title="${esc(id)}">${esc(id.slice(0, 8))}</a>`;
const badge = (status) => `<span class="status s-${esc(status)}">${esc(status.replace('_', ' '))}</span>`;
const num = (n) => Number(n).toLocaleString('en-US');
// What a task used of each rate bucket, and of its budget when it has one.
const usageText = (t) => Object.entries(t.usage ?? {}).map(([bucket, used]) =>
  `${esc(bucket)} ${num(used)}${t.budget?.[bucket] === undefined ? '' : ` of ${num(t.budget[bucket])}`}`).join(', ');
function taskCell(t) {
  return `<td><b>${esc(t.type)}</b> ${taskLink(t.id)}` +
    (t.concurrencyKey === undefined ? '' : ` <span class="key" title="concurrency key">${esc(t.concurrencyKey)}</span>`) +
    (t.command ? `<span class="cmd" title="command">${esc(commandLine(t.command))}</span>` : '') +
    (t.usage ? `<span class="sub usage" title="units of rate buckets used">used ${usageText(t)}</span>` : '');
}
const table = (cols, head, rows) => `<table><colgroup>${cols.map((c) => `<col${c ? ` class="${c}"` : ''}>`).join('')}</colgroup>` +
  `<tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.join('')}</table>`;

async function api(method, path, json) {
  const headers = { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) };
  const res = await fetch(path, { method, headers, ...(json === undefined ? {} : { body: json }) });
  if (res.status === 401) { showLogin(); throw new Error('unauthorized'); }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : res.statusText);
  return body;
}

function showLogin() { $('login').hidden = false; $('app').hidden = true; }
$('token-save').onclick = () => { token = $('token-input').value.trim(); localStorage.setItem('steward-token', token); start(); };

function renderHeader() {
  const c = view.counts;
  $('n-running').textContent = c.running;
  $('n-queued').textContent = c.queued + c.retrying;
  $('n-waiting').textContent = c.waiting;
  // Success and throughput come from the chart's own buckets: the header and the chart always agree.
  const sum = { completed: 0, failed: 0, timedOut: 0, cancelled: 0 };
  for (const b of view.chart.buckets) for (const k of Object.keys(sum)) sum[k] += b[k];
  const ended = sum.completed + sum.failed + sum.timedOut + sum.cancelled;
  const judged = sum.completed + sum.failed + sum.timedOut;
  const minutes = (view.chart.bucketMs * view.chart.buckets.length) / 60_000;
  $('n-ended').textContent = ended;
  $('n-success').textContent = judged === 0 ? '–' : `${Math.round((sum.completed / judged) * 100)}%`;
  $('n-throughput').textContent = (ended / minutes).toFixed(1);
}

/** Cluster mode: which node runs (or ran) the task. */
function onNode(t) {
  return t.node === undefined ? '' : `<span class="sub node">on ${esc(t.node)}</span>`;
}

function renderRunning() {
  const rows = view.running.map((t) => {
    const p = t.progress;
    return `<tr id="task-${esc(t.id)}">${taskCell(t)}` + onNode(t) + (t.pid === undefined ? '' : `<span class="sub">pid ${esc(t.pid)}</span>`) +
      (p === undefined ? '' : `<div class="bar" title="${esc(p.message)}"><div style="width:${p.percent}%"></div></div>` +
        `<span class="progress-text">${Math.round(p.percent)}%${p.message ? ` ${esc(p.message)}` : ''}</span>`) + '</td>' +
      `<td class="priority">${esc(t.priority)}</td>` +
      `<td><span class="elapsed" data-started="${esc(t.startedAt)}">${dur(serverNow() - t.startedAt)}</span><span class="sub">attempt ${esc(t.attempts)}</span></td>` +
      `<td>${badge(t.status)}<br><button data-cancel="${esc(t.id)}">cancel</button></td></tr>`;
  });
  $('running').innerHTML = rows.length === 0 ? '<p class="empty">nothing running</p>'
    : table(['', 'c-num', 'c-time', 'c-act'], ['task and progress', 'priority', 'elapsed', ''], rows);
}

function renderQueue() {
  const q = view.queue;
  const rows = q.items.map((i) => {
    const deps = i.waitsFor.length === 0 ? '' : `<span class="deps">${i.waitsFor.map((d) => `${taskLink(d.id)}`).join('')}</span>`;
    const why = i.reason === 'dependencies' && i.waitsFor.length > 0 ? `${i.waitsFor.length === 1 ? 'task' : 'tasks'} ${deps}`
      : i.waitingFor ? `${esc(i.waitingFor.kind)} <span class="mono">${esc(i.waitingFor.name)}</span>` : esc(i.reason);
    return `<tr id="task-${esc(i.id)}">${taskCell(i)}<span class="sub waited" data-since="${esc(view.now - i.waitingMs)}">waiting ${dur(i.waitingMs)}</span></td>` +
      `<td>${badge(i.status)}</td><td class="priority">${esc(i.priority)}</td><td class="waits">${why}</td></tr>`;
  });
  $('queue').innerHTML = (q.throttled ? `<p class="note">throttled: concurrency ${q.effectiveConcurrency} of ${q.maxConcurrent}</p>` : '') +
    (rows.length === 0 ? '<p class="empty">nothing waiting</p>'
      : table(['', 'c-status', 'c-num', 'c-wait'], ['task', 'status', 'priority', 'waits for'], rows)) + keysLine();
}

function renderRecent() {
  const rows = view.recent.map((t) => `<tr id="task-${esc(t.id)}">${taskCell(t)}${onNode(t)}</td>` +
    `<td>${badge(t.status)}${t.error && t.status !== 'cancelled' ? `<span class="sub code" title="${esc(t.error.message)}">${breakable(t.error.code)}</span>` : ''}</td>` +
    `<td><span class="ended" title="${esc(new Date(t.endedAt).toISOString())}">${clock(t.endedAt)}</span><span class="sub">${t.durationMs === undefined ? '' : `took ${dur(t.durationMs)}`}</span></td>` +
    `<td>${t.status === 'completed' ? '' : `<button data-retry="${esc(t.id)}">retry</button>`}</td></tr>`);
  $('recent').innerHTML = rows.length === 0 ? '<p class="empty">nothing ended yet</p>'
    : table(['', 'c-status', 'c-time', 'c-act'], ['task', 'outcome', 'ended', ''], rows);
}

function renderWorkflows() {
  const list = view.workflows;
  $('workflows').innerHTML = list.length === 0 ? '<p class="empty">no workflow</p>' : list.map((w) =>
    `<div class="workflow"><b>${esc(w.name)}</b> ${badge(w.status === 'pending' ? 'queued' : w.status)} ${Math.round(w.progress)}%<br>` +
    w.phases.map((p) => `<span class="phase status s-${p.status === 'waiting' || p.status === 'pending' ? 'queued' : esc(p.status)}">${esc(p.id)} ${p.completed}/${p.total}</span>`).join('') + '</div>').join('');
}

function treeNode(node) {
  const label = `${esc(node.name)} <span class="status s-${node.state === 'running' ? 'completed' : 'failed'}">${esc(node.state)}</span>` +
    `${node.strategy ? ` <span class="id">${esc(node.strategy)}</span>` : ''} <span class="id">restarts ${node.restarts}</span>`;
  return `<li>${label}${node.children.length ? `<ul>${node.children.map(treeNode).join('')}</ul>` : ''}</li>`;
}

// Stacked bars of tasks ended per bucket, drawn at the panel's own pixel width.
function renderChart() {
  const box = $('chart');
  const width = Math.max(300, Math.floor(box.clientWidth)), height = 170;
  const left = 34, right = 8, top = 16, bottom = 24;
  const { buckets, bucketMs, from } = view.chart;
  const totals = buckets.map((b) => b.completed + b.failed + b.timedOut + b.cancelled);
  const step = Math.max(1, Math.ceil(Math.max(1, ...totals) / 4));
  const max = step * 4;
  const plotW = width - left - right, plotH = height - top - bottom;
  const barW = plotW / buckets.length;
  const y = (v) => top + plotH - (v / max) * plotH;
  let svg = `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="tasks ended per 30 seconds by outcome">`;
  svg += `<text class="axis-title" x="${left}" y="10">tasks ended per ${bucketMs / 1000} s</text>`;
  for (let v = 0; v <= max; v += step) {
    svg += `<line class="grid" x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}"/><text class="y-label" x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`;
  }
  buckets.forEach((b, i) => {
    let base = 0;
    const x = left + i * barW + 1.5;
    const parts = [];
    for (const [key, status] of OUTCOMES) {
      if (b[key] === 0) continue;
      svg += `<rect class="c-${status}" x="${x}" y="${y(base + b[key])}" width="${Math.max(1, barW - 3)}" height="${y(base) - y(base + b[key])}"/>`;
      base += b[key];
      parts.push(`${b[key]} ${status.replace('_', ' ')}`);
    }
    if (parts.length > 0) svg += `<rect x="${x}" y="${top}" width="${barW - 3}" height="${plotH}" fill="transparent"><title>${clock(from + i * bucketMs)}–${clock(from + (i + 1) * bucketMs)}: ${parts.join(', ')}</title></rect>`;
  });
  // Time axis: a tick every 2 minutes (every 4 buckets), the last bucket marked "now".
  for (let i = 0; i <= buckets.length; i += 4) {
    const x = left + i * barW;
    const anchor = i === 0 ? 'start' : i === buckets.length ? 'end' : 'middle';
    svg += `<line class="grid" x1="${x}" x2="${x}" y1="${top + plotH}" y2="${top + plotH + 4}"/>` +
      `<text class="x-label" x="${x}" y="${height - 6}" text-anchor="${anchor}">${i === buckets.length ? 'now' : clock(from + i * bucketMs, false)}</text>`;
  }
  box.innerHTML = `${svg}</svg>`;
}

function renderDetail() {
  if (selected === undefined) { $('detail-panel').hidden = true; return; }
  const t = selected;
  const at = (v) => (v === undefined ? '' : clock(v));
  const fields = [['id', `<span class="mono">${esc(t.id)}</span>`], ['type', esc(t.type)], ['status', badge(t.status)], ['priority', esc(t.priority)],
    ['attempts', esc(t.attempts)], ['created', at(t.createdAt)], ['started', at(t.startedAt)], ['ended', at(t.endedAt)], ['took', dur(t.durationMs)],
    ['command', Array.isArray(t.metadata?.command) ? `<span class="mono">${esc(commandLine(t.metadata.command))}</span>` : ''],
    ['depends on', t.dependsOn.map(taskLink).join(' ')], ['workflow', esc(t.workflowId)], ['error', t.error ? `${esc(t.error.code)}: ${esc(t.error.message)}` : ''],
    ['waits for', t.waitingFor ? `${esc(t.waitingFor.kind)} <span class="mono">${esc(t.waitingFor.name)}</span>${t.waitingFor.until === undefined ? '' : ` until ${clock(t.waitingFor.until)}`}` : ''],
    ['key', esc(t.concurrencyKey)], ['used', t.usage ? usageText(t) : '']];
  $('detail').innerHTML = `<dl class="fields">${fields.filter(([, v]) => v !== '').map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
  $('detail-panel').hidden = false;
}

function render() {
  renderHeader(); renderRunning(); renderQueue(); renderWaiting(); renderSchedules(); renderBudgets(); renderRecent(); renderWorkflows(); renderChart();
  $('supervision').innerHTML = `<ul>${treeNode(view.supervision)}</ul>`;
}

// One read at a time; an event during a read asks for one more after it.
let reading = false, again = false;
async function load() {
  if (reading) { again = true; return; }
  reading = true;
  try {
    const sent = Date.now();
    const next = await api('GET', '/api/dashboard');
    skew = next.now - (sent + Date.now()) / 2;
    view = next;
    render();
    if ($('conn').className !== 'live') $('conn').textContent = `as of ${clock(view.now)}`;
  } catch (e) {
    console.warn(e);
  } finally {
    reading = false;
    if (again) { again = false; setTimeout(load, 100); }
  }
}

async function show(id) {
  const row = $(`task-${id}`);
  if (row) { row.scrollIntoView({ block: 'nearest' }); row.classList.add('flash'); setTimeout(() => row.classList.remove('flash'), 1500); }
  try { selected = await api('GET', `/api/tasks/${encodeURIComponent(id)}`); renderDetail(); } catch (e) { console.warn(e); }
}

function connect() {
  const source = new EventSource(`/api/events?access_token=${encodeURIComponent(token)}`);
  source.onopen = () => { $('conn').textContent = 'live'; $('conn').className = 'live'; };
  source.onerror = () => { $('conn').textContent = 'reconnecting…'; $('conn').className = ''; };
  source.addEventListener('task:progress', (e) => {
    const event = JSON.parse(e.data);
    const t = view.running.find((r) => r.id === event.taskId);
    if (t) { t.progress = { percent: event.percent, message: event.message }; renderRunning(); }
  });
  for (const type of EVENTS) source.addEventListener(type, load);
}

document.addEventListener('click', async (e) => {
  const link = e.target.closest('[data-show]');
  if (link) { e.preventDefault(); show(link.dataset.show); return; }
  const cancel = e.target.closest('[data-cancel]'), retry = e.target.closest('[data-retry]');
  try {
    if (cancel) { cancel.disabled = true; await api('DELETE', `/api/tasks/${encodeURIComponent(cancel.dataset.cancel)}`); load(); }
    if (retry) { retry.disabled = true; await api('POST', `/api/tasks/${encodeURIComponent(retry.dataset.retry)}/retry`); load(); }
  } catch (err) { alert(err.message); }
});
$('detail-close').onclick = () => { selected = undefined; renderDetail(); };

function tick() {
  for (const cell of document.querySelectorAll('.elapsed[data-started]')) cell.textContent = dur(serverNow() - Number(cell.dataset.started));
  for (const cell of document.querySelectorAll('.waited[data-since]')) cell.textContent = `waiting ${dur(serverNow() - Number(cell.dataset.since))}`;
  for (const cell of document.querySelectorAll('.left[data-until]')) cell.textContent = timeLeft(Number(cell.dataset.until));
}

let started = false;
async function start() {
  if (!token) return showLogin();
  try {
    const sent = Date.now();
    view = await api('GET', '/api/dashboard');
    skew = view.now - (sent + Date.now()) / 2;
  } catch { return; }
  $('login').hidden = true; $('app').hidden = false;
  render();
  $('conn').textContent = `as of ${clock(view.now)}`;
  if (started) return;
  started = true;
  connect();
  setInterval(load, 5000);
  setInterval(tick, 1000);
  new ResizeObserver(() => view && renderChart()).observe($('chart'));
}
start();
