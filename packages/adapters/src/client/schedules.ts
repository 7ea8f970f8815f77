import type { ScheduleInfo, ScheduleSpec } from '@steward/core';
import type { Client } from './client.js';

/** The schedule calls of the REST API, as the CLI and the MCP server make them. */
export interface ScheduleCalls {
  list(): Promise<ScheduleInfo[]>;
  /** Creates or replaces schedule `id`. */
  put(id: string, spec: ScheduleSpec): Promise<ScheduleInfo>;
  /** Removes schedule `id` (STEWARD_SCHEDULE_NOT_FOUND when there is none). */
  remove(id: string): Promise<{ id: string; removed: boolean }>;
  pause(id: string): Promise<ScheduleInfo>;
  resume(id: string): Promise<ScheduleInfo>;
}

/** The schedule calls against the server `client` talks to. */
export function scheduleCalls(client: Client): ScheduleCalls {
  const path = (id: string) => `/api/schedules/${encodeURIComponent(id)}`;
  return {
    list: async () => (await client.request<{ schedules: ScheduleInfo[] }>('GET', '/api/schedules')).schedules,
    put: (id, spec) => client.request('PUT', path(id), spec),
    remove: (id) => client.request('DELETE', path(id)),
    pause: (id) => client.request('POST', `${path(id)}/pause`),
    resume: (id) => client.request('POST', `${path(id)}/resume`),
  };
}
