// The Remit API as a browser calls it (see the README's "For client developers").
import { accessToken } from './auth';
import { API_URL } from './config';

export interface Account {
  id: string;
  currency: string;
  balance: string;
  available_balance: string;
  remaining_today: string;
  status: 'active' | 'frozen' | 'closed';
}

export interface Event {
  event_id: string;
  type: 'deposit' | 'withdrawal' | 'transfer' | 'reversal';
  status: 'pending' | 'completed' | 'rejected';
  reason: string | null;
  amount: string;
  currency: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number,
  ) {
    super(message);
  }
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${accessToken()}`);
  if (init.body) headers.set('Content-Type', 'application/json');
  const response = await fetch(`${API_URL}${path}`, { ...init, headers });
  if (response.status >= 400) {
    // Every error is {"error": {"code", "message", "fields"?}}.
    const body = await response.json().catch(() => ({ error: { code: 'unknown', message: response.statusText } }));
    const retryAfter = Number(response.headers.get('Retry-After') ?? 1);
    throw new ApiError(response.status, body.error.code, body.error.message, retryAfter);
  }
  return response;
}

export async function listAccounts(): Promise<Account[]> {
  const response = await call('/api/v1/accounts?page_size=200');
  return (await response.json()).results;
}

export interface Receipt {
  event: Event;
  location: string; // where the event can be read: /api/v1/events/{id}
}

/**
 * Asks for a transfer, waiting up to 5 s for its outcome (Prefer: wait=5): 200 with the final event
 * if the worker finishes in time, else 202 with the pending one. One Idempotency-Key per transfer
 * makes sending it again safe: after 503 (nothing committed, or outcome_unknown) and 409 (the first
 * is still being accepted) this sends the same request with the same key.
 */
export async function transfer(body: { from_account: string; to_account: string; amount: string; memo?: string }): Promise<Receipt> {
  const key = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await call('/api/v1/transfers', {
        method: 'POST',
        headers: { 'Idempotency-Key': key, Prefer: 'wait=5' },
        body: JSON.stringify(body),
      });
      return { event: await response.json(), location: response.headers.get('Location')! };
    } catch (error) {
      const retryable = error instanceof ApiError && (error.status === 503 || error.status === 409);
      if (!retryable || attempt === 3) throw error;
      await sleep(error.retryAfter);
    }
  }
}

/**
 * Reads the event at `location` until it is final, without blind polling: each read waits on the
 * server for up to 10 s (Prefer: wait=10), and sends the ETag it has so an unchanged event costs a
 * 304 with no body. A server with no room for another waiter answers at once (no
 * Preference-Applied): then the next read comes a second later.
 */
export async function watch(location: string, onChange: (event: Event) => void): Promise<Event> {
  let etag: string | null = null;
  let event: Event | null = null;
  for (;;) {
    const headers: Record<string, string> = { Prefer: 'wait=10' };
    if (etag) headers['If-None-Match'] = etag;
    let response: Response;
    try {
      response = await call(location, { headers });
    } catch (error) {
      if (error instanceof ApiError && (error.status === 429 || error.status >= 500)) {
        await sleep(error.retryAfter);
        continue;
      }
      throw error;
    }
    if (response.status === 200) {
      etag = response.headers.get('ETag');
      event = await response.json();
      onChange(event!);
    }
    if (event && event.status !== 'pending') return event;
    // A busy server answers at once, without Preference-Applied: then pause before asking again.
    if (!response.headers.get('Preference-Applied')) await sleep(1);
  }
}
