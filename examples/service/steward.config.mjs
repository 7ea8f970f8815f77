// The example configuration `npm start` serves: `steward serve --config <this file>`.
// Everything but `tasks` and `allow` goes to createRuntime().
const tasks = new URL('./tasks.mjs', import.meta.url);

export default {
  concurrency: 4,
  // Executables that may run, as process task types and as `steward add -- <command>`.
  allow: ['sh', 'echo', 'ls', 'du', 'git', 'node', 'npm'],
  rateLimits: { scans: { limit: 10, intervalMs: 60_000 } },
  tasks: {
    // Worker threads: POST /api/tasks { "type": "scan-secrets", "input": { "path": "." } }
    'scan-secrets': { module: tasks, export: 'scanSecrets', timeoutMs: 120_000, rateLimit: 'scans' },
    'count-lines': { module: tasks, export: 'countLines', timeoutMs: 120_000 },
    // A child process: { "type": "disk-usage", "input": { "path": "." } }
    'disk-usage': { command: 'du', args: (input) => ['-sh', input?.path ?? '.'], timeoutMs: 60_000 },
  },
};
