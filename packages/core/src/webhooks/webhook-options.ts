/** Options of webhook delivery. */
export interface WebhookOptions {
  /** Attempts per delivery before it is given up. @defaultValue 8 */
  maxAttempts?: number;
  /** First retry delay; it doubles each time. @defaultValue 1_000 */
  delayMs?: number;
  /** @defaultValue 600_000 */
  maxDelayMs?: number;
  /** Time allowed for one attempt. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Let webhooks reach loopback, private, link-local and metadata addresses (tests, a receiver on this machine). @defaultValue false */
  allowPrivateNetworks?: boolean;
  /** How host names are resolved (every address is checked, the first is used). @defaultValue the system resolver */
  resolve?: (host: string) => Promise<Array<{ address: string; family: number }>>;
}
