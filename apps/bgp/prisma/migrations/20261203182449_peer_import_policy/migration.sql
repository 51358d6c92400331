-- AlterTable
ALTER TABLE "bgp_peers" ADD COLUMN     "accept_default_route" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "accepted_prefixes" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "bfd" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "max_prefixes" INTEGER;
