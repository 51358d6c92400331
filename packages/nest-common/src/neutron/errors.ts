import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import { isDomainError, type DomainError, type ErrorKind } from '@ncp/contracts';

/** Neutron's error body: `{"NeutronError": {"type", "message", "detail"}}`. */
export interface NeutronErrorBody {
  NeutronError: { type: string; message: string; detail: string };
}

const STATUS: Record<ErrorKind, number> = {
  validation: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition: 412,
  // Only reaches a client once the bounded retries are spent.
  concurrency: 409,
  too_large: 413,
  unavailable: 503,
};

/** `IPAM.NetworkNotFound` -> `NetworkNotFound`: codes carry Neutron's exception names. */
export function neutronType(e: DomainError): string {
  const dot = e.code.lastIndexOf('.');
  return dot >= 0 ? e.code.slice(dot + 1) : e.code;
}

export function toNeutronError(e: DomainError): { status: number; body: NeutronErrorBody } {
  return { status: STATUS[e.kind], body: { NeutronError: { type: neutronType(e), message: e.message, detail: e.detail } } };
}

const HTTP_TYPES: Record<number, string> = {
  400: 'HTTPBadRequest',
  401: 'HTTPUnauthorized',
  403: 'HTTPForbidden',
  404: 'HTTPNotFound',
  405: 'HTTPMethodNotAllowed',
  409: 'HTTPConflict',
  412: 'HTTPPreconditionFailed',
  413: 'HTTPRequestEntityTooLarge',
  415: 'HTTPUnsupportedMediaType',
  503: 'HTTPServiceUnavailable',
};

interface ResponseLike {
  status(code: number): ResponseLike;
  json(body: unknown): void;
  headersSent?: boolean;
}

export interface ErrorReporter {
  error(obj: object, msg: string): void;
}

/** Every error leaves as a Neutron error body; unexpected ones are logged and become 500. */
@Catch()
export class NeutronExceptionFilter implements ExceptionFilter {
  constructor(private readonly reporter?: ErrorReporter) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ResponseLike>();
    if (res.headersSent) return;
    if (isDomainError(exception)) {
      const { status, body } = toNeutronError(exception);
      res.status(status).json(body);
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      // Bodies already in Neutron's shape (or health reports) pass through.
      if (typeof response === 'object' && response !== null && ('NeutronError' in response || 'checks' in response)) {
        res.status(status).json(response);
        return;
      }
      const message = status === 404 ? 'The resource could not be found.' : typeof response === 'string' ? response : exception.message;
      res.status(status).json({ NeutronError: { type: HTTP_TYPES[status] ?? 'HTTPError', message, detail: '' } });
      return;
    }
    this.reporter?.error({ err: exception }, 'unhandled error');
    res.status(500).json({
      NeutronError: { type: 'HTTPInternalServerError', message: 'Request Failed: internal server error while processing your request.', detail: '' },
    });
  }
}
