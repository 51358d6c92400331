import { Body, Controller, Delete, Get, HttpCode, Param, Put, Req } from '@nestjs/common';
import { ValidationError, enforce, type CommandMetadata, type PolicyAction } from '@ncp/contracts';
import { neutronController, type HttpRequestLike } from '@ncp/nest-common';
import { QuotaCommands } from '../application/quotas';
import { type IpamPrisma } from '../infrastructure/prisma';

/** A project id as it may name an aggregate (`ev.ipam.quota.<project id>`). */
const PROJECT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Neutron's quotasv2 and quota_details: `GET /v2.0/quotas` (the projects with limits of their
 * own), and per project its limits, the defaults, the details (limit, used, reserved), a
 * change of some limits (admins) and a reset to the defaults (admins).
 */
@Controller('v2.0/quotas')
export class QuotasController extends neutronController<IpamPrisma, { quotas: QuotaCommands }>({ quotas: QuotaCommands }) {
  /** The caller's metadata, once the rule allows the call on the project's quota. */
  private allowed(req: HttpRequestLike, action: PolicyAction, projectId?: string): CommandMetadata {
    if (projectId !== undefined && !PROJECT_ID.test(projectId)) throw new ValidationError('QUOTA.HTTPBadRequest', `Invalid project_id ${projectId}`);
    const meta = this.api.meta(req);
    enforce('QUOTA', action, meta, projectId === undefined ? {} : { projectId });
    return meta;
  }

  @Get()
  async list(@Req() req: HttpRequestLike) {
    this.allowed(req, 'get_quota');
    return { quotas: await this.deps.quotas.list() };
  }

  @Get(':projectId/default')
  defaults(@Param('projectId') projectId: string, @Req() req: HttpRequestLike) {
    this.allowed(req, 'get_quota', projectId);
    return { quota: this.deps.quotas.defaults };
  }

  @Get(':projectId/details')
  async details(@Param('projectId') projectId: string, @Req() req: HttpRequestLike) {
    this.allowed(req, 'get_quota', projectId);
    return { quota: await this.deps.quotas.details(projectId) };
  }

  @Get(':projectId')
  async show(@Param('projectId') projectId: string, @Req() req: HttpRequestLike) {
    this.allowed(req, 'get_quota', projectId);
    return { quota: await this.deps.quotas.show(projectId) };
  }

  @Put(':projectId')
  async update(@Param('projectId') projectId: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.allowed(req, 'update_quota', projectId);
    const quota = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).quota : undefined;
    if (quota === null || typeof quota !== 'object' || Array.isArray(quota)) {
      throw new ValidationError('QUOTA.HTTPBadRequest', "Unable to find 'quota' in request body");
    }
    return { quota: (await this.deps.quotas.set(projectId, quota as Record<string, unknown>, meta)).limits };
  }

  @Delete(':projectId')
  @HttpCode(204)
  async reset(@Param('projectId') projectId: string, @Req() req: HttpRequestLike) {
    await this.deps.quotas.reset(projectId, this.allowed(req, 'delete_quota', projectId));
  }
}
