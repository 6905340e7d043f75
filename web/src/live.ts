// The live channel: one WebSocket to /api/v1/ws?token=..., one JSON event per message.
// It reconnects by itself, with a growing, jittered delay, after the server goes away.

export type LiveType =
  | 'recommendation.created'
  | 'alert.stress_high'
  | 'chronotype.updated'
  | 'model.candidate'
  | 'model.promoted'
  | 'model.rolled_back';

export interface LiveEvent {
  type: LiveType | string;
  child_id: string;
  at: string;
  [key: string]: unknown;
}

export type LiveStatus = 'connecting' | 'open' | 'offline';

export interface LiveOptions {
  token: () => string | null;
  onEvent: (event: LiveEvent) => void;
  onStatus: (status: LiveStatus) => void;
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;

export class Live {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private timer: number | undefined;
  private stopped = true;

  constructor(private readonly options: LiveOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
    window.addEventListener('online', this.retryNow);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    window.removeEventListener('online', this.retryNow);
    document.removeEventListener('visibilitychange', this.onVisible);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000, 'logged out');
    }
    this.options.onStatus('offline');
  }

  private readonly retryNow = () => {
    if (this.stopped || this.socket) return;
    window.clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  };

  private readonly onVisible = () => {
    if (document.visibilityState === 'visible') this.retryNow();
  };

  private url(token: string): string {
    const url = new URL('api/v1/ws', document.baseURI);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', token);
    return url.toString();
  }

  private connect(): void {
    const token = this.options.token();
    if (this.stopped || !token) return;
    this.options.onStatus('connecting');
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url(token));
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onStatus('open');
    };
    socket.onmessage = (message) => {
      if (typeof message.data !== 'string') return;
      try {
        const event = JSON.parse(message.data) as LiveEvent;
        if (event && typeof event.type === 'string') this.options.onEvent(event);
      } catch {
        // Not one of ours: ignore.
      }
    };
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null;
      if (this.stopped) return;
      this.options.onStatus('offline');
      this.scheduleRetry();
    };
  }

  private scheduleRetry(): void {
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.connect(), delay);
  }
}
