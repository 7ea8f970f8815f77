// The dashboard's panels for agent work (plain browser JavaScript, put after client.js
// in the same script, whose helpers it uses): tasks suspended on a durable wait, with
// a form to send the signal (Approve and Reject for a decision); schedules with their
// next run, paused or not; concurrency keys under the queue; the rate buckets' usage.
// Buttons post to the REST routes with the bearer token, as retry and cancel do.
'use strict';
// A wait whose name reads as a decision gets Approve and Reject beside the payload box.
const DECISION = /approv|review|decision|confirm/i;
const APPROVE = '{"approved":true}', REJECT = '{"approved":false}';
// What the last signal or schedule command answered: the panel shows it until the next one.
let signalNote, scheduleNote;
let paintedWaiting;

const timeLeft = (until) => (until <= serverNow() ? 'due now' : `in ${dur(until - serverNow())}`);
const untilText = (until) => `<span title="${esc(new Date(until).toISOString())}">${clock(until)}</span> <span class="sub left" data-until="${esc(until)}">${timeLeft(until)}</span>`;
const note = (n) => (n === undefined ? '' : `<p class="result ${n.ok ? 'ok' : 'err'}" role="status">${n.html}</p>`);

function waitingItem(t) {
  const w = t.waitingFor;
  const what = `${w.kind === 'signal' ? 'signal' : 'sleep'} <b class="mono">${esc(w.name)}</b>`;
  const when = w.until === undefined ? '<span class="sub">no time limit</span>' : `<span class="sub">${w.kind === 'signal' ? 'times out' : 'wakes'}</span>${untilText(w.until)}`;
  let form = '';
  if (w.kind === 'signal') {
    const decide = DECISION.test(w.name)
      ? `<div class="decide"><span><button data-decide="${esc(APPROVE)}" title="sends ${esc(APPROVE)}">Approve</button> <code>${esc(APPROVE)}</code></span>` +
        `<span><button data-decide="${esc(REJECT)}" title="sends ${esc(REJECT)}">Reject</button> <code>${esc(REJECT)}</code></span></div>` : '';
    form = `${decide}<div class="send"><textarea class="payload" rows="1" spellcheck="false" aria-label="JSON payload of signal ${esc(w.name)}" ` +
      `placeholder="JSON payload (empty: none)"></textarea><button data-send>Send</button></div>`;
  }
  return `<tr id="wait-${esc(t.id)}" data-task="${esc(t.id)}" data-signal="${esc(w.name)}">${taskCell(t)}` +
    `${form}</td><td>${what}${when}</td></tr>`;
}

function renderWaiting() {
  // Repaint only when something changed, so a payload being typed is not lost.
  const key = JSON.stringify([view.waiting, signalNote]);
  if (key === paintedWaiting) return;
  paintedWaiting = key;
  const typed = new Map([...document.querySelectorAll('#waiting textarea.payload')].map((box) => [box.closest('tr').dataset.task, box.value]));
  const focused = document.activeElement?.closest?.('#waiting tr')?.dataset.task;
  $('waiting').innerHTML = note(signalNote) + (view.waiting.length === 0 ? '<p class="empty">no task waits for a signal or a sleep</p>'
    : table(['', 'c-until'], ['task', 'waits for'], view.waiting.map(waitingItem)));
  for (const box of document.querySelectorAll('#waiting textarea.payload')) {
    const id = box.closest('tr').dataset.task;
    if (typed.has(id)) box.value = typed.get(id);
    if (id === focused) box.focus();
  }
}

function renderSchedules() {
  const rows = view.schedules.map((s) => {
    const spec = s.cron !== undefined ? `cron ${esc(s.cron)}` : `every ${dur(s.every)}`;
    return `<tr id="schedule-${esc(s.id)}"><td><b>${esc(s.id)}</b><span class="sub">runs ${esc(s.type)}</span>` +
      `<span class="cmd">${spec}</span>${s.cron !== undefined ? `<span class="sub">${esc(s.timezone)}</span>` : ''}</td>` +
      `<td class="next">${s.next === undefined ? '<span class="sub">never again</span>'
        : s.paused ? `<span title="when it would run">${clock(s.next)}</span><span class="sub">if resumed</span>` : untilText(s.next)}</td>` +
      `<td class="last">${s.last === undefined ? '<span class="sub">not yet</span>' : `${clock(s.last)}${s.lastTaskId ? `<br>${taskLink(s.lastTaskId)}` : ''}`}</td>` +
      `<td>${s.paused ? '<span class="status s-paused">paused</span>' : '<span class="status s-running">active</span>'}<br>` +
      `<button data-schedule="${esc(s.id)}" data-op="${s.paused ? 'resume' : 'pause'}">${s.paused ? 'resume' : 'pause'}</button></td></tr>`;
  });
  $('schedules').innerHTML = note(scheduleNote) + (rows.length === 0 ? '<p class="empty">no schedule</p>'
    : table(['', 'c-time', 'c-time', 'c-act'], ['schedule', 'next run', 'last run', ''], rows));
}

// Running and queued tasks per concurrency key, under the queue.
function keysLine() {
  if (view.keys.length === 0) return '';
  const more = view.keyCount - view.keys.length;
  return `<div class="keys"><span class="sub">by concurrency key (running, queued)</span>` +
    view.keys.map((k) => `<span class="key-stat" data-key="${esc(k.key)}"><span class="key">${esc(k.key)}</span> ${k.running} running, ${k.queued} queued</span>`).join('') +
    (more > 0 ? `<span class="sub">and ${more} more</span>` : '') + '</div>';
}

// The rate buckets: units the tasks held used, taken in the window now, free now. Hidden without buckets.
function renderBudgets() {
  $('budgets-panel').hidden = view.buckets.length === 0;
  const rows = view.buckets.map((b) => `<tr id="bucket-${esc(b.name)}"><td><b>${esc(b.name)}</b><span class="sub">${num(b.limit)} per ${dur(b.intervalMs)}</span></td>` +
    `<td class="used">${num(b.used)}</td><td class="window">${num(b.inWindow)} of ${num(b.limit)}` +
    `<div class="bar"><div style="width:${Math.min(100, (b.inWindow / Math.max(1, b.limit)) * 100)}%"></div></div></td><td class="available">${num(b.available)}</td></tr>`);
  $('budgets').innerHTML = table(['', 'c-time', '', 'c-time'], ['bucket', 'used by tasks', 'taken in the window', 'free now'], rows);
}

async function sendSignal(row, payload, button) {
  const id = row.dataset.task, name = row.dataset.signal;
  let body;
  if (payload.trim() !== '') {
    try { body = JSON.stringify(JSON.parse(payload)); } catch (e) { signalNote = { ok: false, html: `not JSON: ${esc(e.message)}` }; return renderWaiting(); }
  }
  button.disabled = true;
  const who = `<b class="mono">${esc(name)}</b> to ${taskLink(id)}`;
  try {
    const answer = await api('POST', `/api/tasks/${encodeURIComponent(id)}/signals/${encodeURIComponent(name)}`, body);
    signalNote = { ok: true, html: `sent ${who}${body === undefined ? '' : ` with <code>${esc(body)}</code>`}: ` +
      `${answer.delivered === false ? 'kept for its next wait' : 'delivered'}, the task is ${esc(answer.taskStatus ?? 'on its way')}` };
  } catch (err) {
    signalNote = { ok: false, html: `${who} not sent: ${breakable(err.message)}` };
  }
  renderWaiting();
  load();
}

document.addEventListener('click', async (e) => {
  const decide = e.target.closest('[data-decide]'), send = e.target.closest('[data-send]'), schedule = e.target.closest('[data-schedule]');
  if (decide) return sendSignal(decide.closest('tr'), decide.dataset.decide, decide);
  if (send) return sendSignal(send.closest('tr'), send.closest('tr').querySelector('textarea.payload').value, send);
  if (!schedule) return;
  schedule.disabled = true;
  const { schedule: id, op } = schedule.dataset;
  try {
    const info = await api('POST', `/api/schedules/${encodeURIComponent(id)}/${op}`);
    scheduleNote = { ok: true, html: `<b>${esc(id)}</b> ${info.paused ? 'paused' : 'resumed'}` };
  } catch (err) {
    scheduleNote = { ok: false, html: `<b>${esc(id)}</b> not ${op}d: ${breakable(err.message)}` };
  }
  load();
});
