import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Inject, Param, Put, Req, Res } from '@nestjs/common';
import { METADATA_HEADERS, metadataSignature } from '@ncp/contracts';
import { METRICS_REGISTRY, type Logger } from '@ncp/nest-common';
import { Counter, type Registry } from 'prom-client';
import { instanceView, type InstanceView } from '../application/metadata-view';
import { OPENSTACK_VERSIONS, ec2MetaData, metaDataJson, networkDataJson, renderEc2 } from '../domain/formats';
import { issueToken, parseTokenTtl, verifyToken } from '../domain/token';
import { type MetadataPrisma } from '../infrastructure/prisma';

export const METADATA_PRISMA = Symbol('METADATA_PRISMA');
export const METADATA_SETTINGS = Symbol('METADATA_SETTINGS');
export const METADATA_LOGGER = Symbol('METADATA_LOGGER');

export interface MetadataSettings {
  readonly sharedSecret: string;
  /** the key IMDSv2 tokens are signed with */
  readonly tokenKey: string;
  readonly requireToken: boolean;
}

interface RequestLike {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
}
interface ResponseLike {
  status(code: number): ResponseLike;
  setHeader(name: string, value: string): void;
  send(body: string | Buffer): void;
  json(body: unknown): void;
}

type Result = 'ok' | 'denied' | 'unauthorized' | 'not_found' | 'bad_request';
/** A request refused: its status, its metrics label and the reason (logged, and the body). */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly result: Result,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const header = (req: RequestLike, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
const OPENSTACK_FILES = ['meta_data.json', 'network_data.json', 'vendor_data.json', 'vendor_data2.json'] as const;

/**
 * The metadata API instances read through their proxy: the OpenStack format under
 * `/openstack`, the EC2 format under `/latest`, IMDSv2 tokens. Every
 * request must carry the instance id a proxy signed; anything unsigned or mis-signed is
 * refused and logged, and nothing here trusts an address or X-Forwarded-For.
 */
@Controller()
export class MetadataController {
  private readonly requests: Counter<'path' | 'result'>;

  constructor(
    @Inject(METADATA_PRISMA) private readonly prisma: MetadataPrisma,
    @Inject(METADATA_SETTINGS) private readonly settings: MetadataSettings,
    @Inject(METADATA_LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.requests = new Counter({
      name: 'metadata_requests_total',
      help: 'Metadata requests by path family and result',
      labelNames: ['path', 'result'],
      registers: [registry],
    });
  }

  @Get('openstack')
  openstackRoot(@Req() req: RequestLike, @Res() res: ResponseLike) {
    return this.serve(req, res, 'openstack', async () => {
      await this.caller(req);
      return text(OPENSTACK_VERSIONS.join('\n'));
    });
  }

  @Get('openstack/:version')
  openstackVersion(@Param('version') version: string, @Req() req: RequestLike, @Res() res: ResponseLike) {
    return this.serve(req, res, 'openstack', async () => {
      const view = await this.caller(req);
      if (!(OPENSTACK_VERSIONS as readonly string[]).includes(version)) throw notFound(`no OpenStack metadata version ${version}`);
      return text([...OPENSTACK_FILES, ...(view.instance.userData !== null ? ['user_data'] : [])].join('\n'));
    });
  }

  @Get('openstack/:version/:file')
  openstackFile(@Param('version') version: string, @Param('file') file: string, @Req() req: RequestLike, @Res() res: ResponseLike) {
    return this.serve(req, res, `openstack/${(OPENSTACK_FILES as readonly string[]).includes(file) || file === 'user_data' ? file : 'other'}`, async () => {
      const view = await this.caller(req);
      if (!(OPENSTACK_VERSIONS as readonly string[]).includes(version)) throw notFound(`no OpenStack metadata version ${version}`);
      switch (file) {
        case 'meta_data.json':
          return { json: metaDataJson(view.instance, randomBytes(512).toString('base64')) };
        case 'network_data.json':
          return { json: networkDataJson(view.ports, view.subnets) };
        case 'vendor_data.json':
          return { json: view.instance.vendorData };
        case 'vendor_data2.json':
          return { json: { static: view.instance.vendorData } };
        case 'user_data':
          if (view.instance.userData === null) throw notFound('the instance has no user data');
          return { binary: Buffer.from(view.instance.userData, 'base64') };
        default:
          throw notFound(`no OpenStack metadata file ${file}`);
      }
    });
  }

  /** IMDSv2: a session token for the calling instance. */
  @Put('latest/api/token')
  token(@Req() req: RequestLike, @Res() res: ResponseLike) {
    return this.serve(req, res, 'ec2/token', async () => {
      const view = await this.caller(req);
      // As EC2: a token request that went through a forwarding proxy inside the instance is refused.
      if (header(req, 'x-forwarded-for') !== undefined) throw new Refusal(403, 'denied', 'a token request carries X-Forwarded-For');
      const ttl = parseTokenTtl(header(req, 'x-aws-ec2-metadata-token-ttl-seconds'));
      if (ttl === null) throw new Refusal(400, 'bad_request', 'X-aws-ec2-metadata-token-ttl-seconds must be an integer in 1..21600');
      return { text: issueToken(this.settings.tokenKey, view.instance.id, ttl, Date.now()), headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) } };
    });
  }

  @Get('latest')
  ec2Root(@Req() req: RequestLike, @Res() res: ResponseLike) {
    return this.serve(req, res, 'ec2', async () => {
      const view = await this.ec2Caller(req);
      return text(['meta-data/', ...(view.instance.userData !== null ? ['user-data'] : [])].join('\n'));
    });
  }

  @Get('latest/user-data')
  ec2UserData(@Req() req: RequestLike, @Res() res: ResponseLike) {
    return this.serve(req, res, 'ec2/user-data', async () => {
      const view = await this.ec2Caller(req);
      if (view.instance.userData === null) throw notFound('the instance has no user data');
      return { binary: Buffer.from(view.instance.userData, 'base64') };
    });
  }

  @Get('latest/meta-data')
  ec2MetaDataRoot(@Req() req: RequestLike, @Res() res: ResponseLike) {
    return this.ec2MetaData([], req, res);
  }

  @Get('latest/meta-data/*path')
  ec2MetaDataPath(@Param('path') path: string | string[], @Req() req: RequestLike, @Res() res: ResponseLike) {
    return this.ec2MetaData(typeof path === 'string' ? path.split('/') : path, req, res);
  }

  private ec2MetaData(segments: string[], req: RequestLike, res: ResponseLike) {
    return this.serve(req, res, 'ec2/meta-data', async () => {
      const view = await this.ec2Caller(req);
      const port = view.ports.find((p) => p.id === header(req, METADATA_HEADERS.portId)) ?? view.ports[0];
      if (port === undefined) throw notFound('the instance has no port');
      const tree = ec2MetaData(view.instance, port, view.ports, view.subnets, view.floatingIps);
      const body = renderEc2(
        tree,
        segments,
        view.instance.publicKeys.map((k) => k.name),
      );
      if (body === null) throw notFound(`no meta-data/${segments.join('/')}`);
      return text(body);
    });
  }

  /** The instance a proxy vouches for: its id, signed with the shared secret. */
  private async caller(req: RequestLike): Promise<InstanceView> {
    const instanceId = header(req, METADATA_HEADERS.instanceId);
    const signature = header(req, METADATA_HEADERS.signature);
    if (instanceId === undefined || signature === undefined) throw new Refusal(403, 'denied', 'unsigned request (no instance id or no signature)');
    const expected = Buffer.from(metadataSignature(this.settings.sharedSecret, instanceId));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new Refusal(403, 'denied', `bad signature for instance ${instanceId}`);
    const view = await instanceView(this.prisma, instanceId);
    if (view === null) throw notFound(`instance ${instanceId} is not registered`);
    return view;
  }

  /** As `caller`, and the IMDSv2 token: a bad one is always refused, a missing one when tokens are required. */
  private async ec2Caller(req: RequestLike): Promise<InstanceView> {
    const view = await this.caller(req);
    const token = header(req, 'x-aws-ec2-metadata-token');
    if (token !== undefined) {
      const check = verifyToken(this.settings.tokenKey, token, view.instance.id, Date.now());
      if (!check.ok) throw new Refusal(401, 'unauthorized', check.reason);
    } else if (this.settings.requireToken) {
      throw new Refusal(401, 'unauthorized', 'a session token is required (IMDSv2)');
    }
    return view;
  }

  private async serve(req: RequestLike, res: ResponseLike, path: string, answer: () => Promise<Answer>): Promise<void> {
    try {
      const a = await answer();
      for (const [name, value] of Object.entries(a.headers ?? {})) res.setHeader(name, value);
      this.requests.inc({ path, result: 'ok' });
      if ('json' in a) res.status(200).json(a.json);
      else if ('binary' in a) {
        res.setHeader('content-type', 'application/octet-stream');
        res.status(200).send(a.binary);
      } else {
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.status(200).send(a.text);
      }
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      this.requests.inc({ path, result: error.result });
      this.logger.warn(
        { method: req.method, path: req.path, status: error.status, reason: error.reason, instanceId: header(req, METADATA_HEADERS.instanceId) },
        'metadata request refused',
      );
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.status(error.status).send(`${error.reason}\n`);
    }
  }
}

type Answer = ({ json: unknown } | { binary: Buffer } | { text: string }) & { headers?: Record<string, string> };
const text = (body: string): Answer => ({ text: body });
const notFound = (reason: string) => new Refusal(404, 'not_found', reason);
