-- CreateTable
CREATE TABLE "bulk_creates" (
    "id" TEXT NOT NULL,
    "collection" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "started_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "bulk_creates_pkey" PRIMARY KEY ("id")
);
