-- CreateTable
CREATE TABLE "parked_events" (
    "projection" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "subject" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "schema_version" INTEGER NOT NULL,
    "error" TEXT NOT NULL,
    "parked_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "parked_events_pkey" PRIMARY KEY ("projection","sequence")
);
