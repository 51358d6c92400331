-- CreateTable
CREATE TABLE "quota_limits" (
    "project_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "limit" INTEGER NOT NULL,

    CONSTRAINT "quota_limits_pkey" PRIMARY KEY ("project_id","kind")
);

-- CreateTable
CREATE TABLE "quota_usage" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "confirmed" BOOLEAN NOT NULL,

    CONSTRAINT "quota_usage_pkey" PRIMARY KEY ("kind","id")
);

-- CreateTable
CREATE TABLE "quota_usage_items" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "parent_id" TEXT,
    "reserved_at" TIMESTAMP(3),

    CONSTRAINT "quota_usage_items_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "quota_usage_project_id_idx" ON "quota_usage"("project_id");

-- CreateIndex
CREATE INDEX "quota_usage_items_parent_id_idx" ON "quota_usage_items"("parent_id");

-- CreateIndex
CREATE INDEX "quota_usage_items_reserved_at_idx" ON "quota_usage_items"("reserved_at");
