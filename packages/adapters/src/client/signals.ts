import type { SignalReceipt } from '@steward/core';
import type { Client } from './client.js';

/**
 * Sends signal `name` with `payload` to task `taskId` over the REST API
 * (`POST /api/tasks/:id/signals/:name`, the payload as the JSON body; none when
 * undefined), as the CLI and the MCP server do.
 */
export function signalTask(client: Client, taskId: string, name: string, payload?: unknown): Promise<SignalReceipt> {
  return client.request<SignalReceipt>('POST', `/api/tasks/${encodeURIComponent(taskId)}/signals/${encodeURIComponent(name)}`, payload);
}
