-- CreateTable
CREATE TABLE "bgp_learned_routes" (
    "speaker_id" TEXT NOT NULL,
    "peer_id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "destination" TEXT NOT NULL,
    "next_hop" TEXT NOT NULL,
    "as_path" BIGINT[],
    "med" BIGINT,
    "local_pref" BIGINT,
    "best" BOOLEAN NOT NULL,
    "learned_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "bgp_learned_routes_pkey" PRIMARY KEY ("speaker_id","peer_id","host","destination","next_hop")
);
