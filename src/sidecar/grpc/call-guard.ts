import type * as Grpc from '@grpc/grpc-js';
import type { Scheduler } from '../../internal/scheduler.js';

/**
 * What every OTLP/gRPC call meets before its request message is read: the bearer token (the
 * `authorization` metadata), shutdown and admission (refused with a status before any byte of
 * the body is taken), and a deadline for the whole request to arrive. It also sees every
 * call's final status (the handler's, and the ones grpc-js sends itself: a message over the
 * size limit, a body that does not decompress), so each call is counted once.
 */
export interface Refusal {
  code: number;
  details: string;
  /** Ask the client to retry after `--retry-after-s` (RetryInfo in the status details). */
  retry: boolean;
}

export interface CallGuardOptions {
  /** The `authorization` metadata is checked; undefined: no token required. */
  authorized?: ((authorization: string | undefined) => boolean) | undefined;
  /** Why a call is refused before its body is read (shutting down, no room), or undefined. */
  admit: () => Refusal | undefined;
  /** Builds the trailers of a refusal (RetryInfo). */
  refusalMetadata: (r: Refusal) => Grpc.Metadata | undefined;
  /** The request (headers and message) must arrive within this time, ms. */
  requestTimeoutMillis: number;
  scheduler: Scheduler;
  /** Called once per call as it starts, before anything else. */
  onStart: () => void;
  /** Called once per call with its final status code. */
  onEnd: (code: number) => void;
  /** Called when a request did not arrive in time (after its status was sent). */
  onTimeout: (call: Grpc.ServerInterceptingCallInterface) => void;
}

/** grpc-js's classes, loaded with the package (it is imported only when gRPC is on). */
type GrpcModule = typeof Grpc;
type Status = Parameters<Grpc.ServerInterceptingCallInterface['sendStatus']>[0];

export function callGuard(grpc: GrpcModule, o: CallGuardOptions): Grpc.ServerInterceptor {
  const { status } = grpc;
  return (_method, call) => {
    o.onStart();
    let ended = false;
    let timer: unknown;
    const stopTimer = (): void => {
      if (timer !== undefined) o.scheduler.clearTimeout(timer);
      timer = undefined;
    };
    const end = (code: number): void => {
      stopTimer();
      if (ended) return;
      ended = true;
      o.onEnd(code);
    };
    // grpc-js ends some calls itself (a message over the limit, a body that does not
    // decompress) through the call's own sendStatus: seen here, they are counted too.
    const sendStatus = call.sendStatus.bind(call);
    call.sendStatus = (s: Status): void => {
      end(s.code);
      sendStatus(s);
    };
    const refuse = (r: Refusal): void => {
      call.sendStatus({ code: r.code, details: r.details, metadata: o.refusalMetadata(r) ?? null });
    };
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (o.authorized !== undefined) {
          const value = metadata.get('authorization')[0];
          if (!o.authorized(typeof value === 'string' ? value : undefined)) {
            refuse({
              code: status.UNAUTHENTICATED,
              details: 'missing or wrong bearer token',
              retry: false,
            });
            return;
          }
        }
        const refusal = o.admit();
        if (refusal !== undefined) {
          refuse(refusal);
          return;
        }
        timer = o.scheduler.setTimeout(() => {
          timer = undefined;
          if (ended) return;
          refuse({
            code: status.DEADLINE_EXCEEDED,
            details: `the request did not arrive within ${o.requestTimeoutMillis} ms`,
            retry: false,
          });
          o.onTimeout(call);
        }, o.requestTimeoutMillis);
        next(metadata);
      })
      // The whole request arrived (a unary call's handler runs next): it is no longer slow.
      .withOnReceiveHalfClose((next) => {
        stopTimer();
        next();
      })
      .withOnCancel(() => end(status.CANCELLED))
      .build();
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next(listener),
    });
  };
}
