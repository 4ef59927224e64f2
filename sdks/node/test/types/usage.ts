// Compiled (not run) by package.test.mjs against the emitted .d.ts: the types a user sees must work.
import { CyberVault, NotFoundError, webhooks, type Asset, type Page, type Scan } from "@cybervault/node";

export async function usage(client: CyberVault): Promise<void> {
  const scan: Scan = await client.threats.scan("192.168.1.0/24", { depth: "standard" });
  const cves: (string | null | undefined)[] = scan.findings.map((f) => f.cve);
  for await (const asset of client.assets.list({ tag: "prod", limit: 100 })) {
    const target: string = asset.target;
    void target;
  }
  const first: Page<Asset> = await client.assets.list();
  const more: boolean = first.hasMore;
  const incident = await client.incidents.create({ title: "t", severity: "low", description: "d" }, { idempotencyKey: "k" });
  const id: string = incident.id;
  try {
    await client.assets.retrieve(id);
  } catch (e) {
    if (e instanceof NotFoundError) {
      const status: number | null = e.httpStatus;
      void status;
    }
  }
  const ok: true = webhooks.verify("{}", { "webhook-signature": "v1,x" }, "whsec_x", { now: 0 });
  void [cves, more, ok];
}
