// An agent-like task that stops for a person: it drafts a release announcement (a
// durable step, so it is written once), waits for an approval sent with
// `steward signal` (or POST /api/tasks/:id/signals/approval), then publishes or gives
// up. While it waits it holds no thread or slot, and a restart of the server in the
// middle loses nothing: the handler runs again from the top, the draft comes back
// from the journal and the wait returns the approval at once.

/** Seven days: after that the wait throws STEWARD_SIGNAL_TIMEOUT and the task gives up. */
const APPROVAL_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;

/** Drafts, waits for `approval` ({ approved, by, note? }), then publishes or not. */
export async function draftAnnouncement(input, ctx) {
  const topic = String(input?.topic ?? 'the new release');
  const draft = await ctx.step('draft', () =>
    [`# ${topic}`, '', `We are happy to announce ${topic}.`, 'Highlights: durable waits for people, nothing to install.'].join('\n'),
  );
  ctx.log(`draft ready; approve with: steward signal ${ctx.taskId} approval '{"approved":true,"by":"<you>"}'`);
  ctx.progress(50, 'waiting for approval');
  let decision;
  try {
    decision = await ctx.waitForSignal('approval', { timeoutMs: APPROVAL_TIMEOUT_MS });
  } catch (error) {
    if (error?.code !== 'STEWARD_SIGNAL_TIMEOUT') throw error;
    return { published: false, reason: 'nobody approved it in time', draft };
  }
  if (decision?.approved !== true) return { published: false, reason: decision?.note ?? 'rejected', by: decision?.by, draft };
  const published = await ctx.step('publish', () => ({ at: new Date().toISOString(), words: draft.split(/\s+/).length }));
  ctx.progress(100, 'published');
  return { published: true, by: decision.by, draft, ...published };
}
