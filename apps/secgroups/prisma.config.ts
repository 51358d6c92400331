import { defineConfig } from 'prisma/config';

// `prisma generate` needs no database; the URL matters only to Prisma's own migrate
// commands, which work where Prisma's schema-engine binary can be installed.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ncp?schema=secgroups' },
});
