// steward serve --config examples/approval/steward.config.mjs: one task type that
// waits for a person's approval (see README.md).
const tasks = new URL('./tasks.mjs', import.meta.url);

export default {
  tasks: {
    // A worker thread: steward add --type draft-announcement --input '{"topic":"Steward 1.0"}'
    'draft-announcement': { module: tasks, export: 'draftAnnouncement', timeoutMs: 60_000 },
  },
};
