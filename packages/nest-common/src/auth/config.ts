import { z } from 'zod';

/**
 * Settings of the edge's authentication, shared by every service and the gateway. Keystone is
 * the default: an open API is a choice someone writes down (AUTH_STRATEGY=noauth), never what
 * a missing setting gives.
 */
export const authConfigShape = {
  AUTH_STRATEGY: z.enum(['keystone', 'noauth']).default('keystone'),
  /** Keystone's identity API, e.g. http://keystone:5000/v3 (a URL without /v3 gets it). */
  KEYSTONE_URL: z.url().optional(),
  KEYSTONE_USERNAME: z.string().min(1).optional(),
  KEYSTONE_PASSWORD: z.string().min(1).optional(),
  KEYSTONE_PROJECT_NAME: z.string().min(1).default('service'),
  KEYSTONE_USER_DOMAIN_NAME: z.string().min(1).default('Default'),
  KEYSTONE_PROJECT_DOMAIN_NAME: z.string().min(1).default('Default'),
  /** How long a validated token is believed without asking Keystone again (a revocation takes this long to bite). */
  TOKEN_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  TOKEN_CACHE_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /**
   * How long one request to Keystone may take. A busy Keystone queues validations behind its
   * password hashing (a Tempest run measured more than 5 s); keystonemiddleware sets no limit.
   */
  KEYSTONE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(30),
};

export type AuthConfig = z.infer<z.ZodObject<typeof authConfigShape>>;
