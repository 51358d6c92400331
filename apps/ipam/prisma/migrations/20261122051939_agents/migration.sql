-- CreateTable
CREATE TABLE "agents" (
    "id" TEXT NOT NULL,
    "row" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "roles" TEXT[],
    "tunnel_ip" TEXT NOT NULL,
    "physnets" JSONB NOT NULL,
    "version" TEXT NOT NULL,
    "started_at" TIMESTAMP(3) NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "agents_host_key" ON "agents"("host");
