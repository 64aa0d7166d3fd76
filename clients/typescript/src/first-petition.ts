// What a mini-program developer does first with the generated types: sign in (the development
// login), submit a petition, read it back. Every request and answer is typed from the spec, so
// a spec that stops describing the server fails the type check or this run.
import type { components, paths } from "./schema.js";

type Session = components["schemas"]["CitizenSession"];
type Category = components["schemas"]["CategoryView"];
type Definition = components["schemas"]["ServiceDefinition"];
type SubmitBody =
  paths["/api/v1/petitions"]["post"]["requestBody"]["content"]["application/json"];
type Submitted =
  paths["/api/v1/petitions"]["post"]["responses"]["201"]["content"]["application/json"];
type Petition =
  paths["/api/v1/petitions/{id}"]["get"]["responses"]["200"]["content"]["application/json"];

const base = process.argv[2] ?? "http://127.0.0.1:8080";

async function call<T>(path: string, init: RequestInit, expected: number): Promise<T> {
  const res = await fetch(base + path, init);
  if (res.status !== expected) {
    throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${await res.text()}`);
  }
  return (await res.json()) as T;
}

const json = (body: unknown, token?: string, extra: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: {
    "content-type": "application/json",
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...extra,
  },
  body: JSON.stringify(body),
});

const session = await call<Session>("/api/v1/auth/dev-login", json({ openid: "ts-client-check" }), 200);
const categories = await call<Category[]>("/api/v1/petition-categories", {}, 200);
const category = categories.find((c) => c.matter_category !== "accusation");
if (!category) throw new Error("no category to petition in");
// The townships are the values of the Open311 definition's `township` attribute.
const definition = await call<Definition>(`/open311/v2/services/${category.code}.json`, {}, 200);
const township = definition.attributes.find((a) => a.code === "township")?.values?.[0];
if (!township) throw new Error("no township to petition in");

const body: SubmitBody = {
  kind: "complaint",
  category_code: category.code,
  title: "村道路面破损请求维修",
  content: "村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。",
  township_id: township.key,
};
const submitted = await call<Submitted>(
  "/api/v1/petitions",
  json(body, session.access_token, { "idempotency-key": crypto.randomUUID() }),
  201,
);
const read = await call<Petition>(
  `/api/v1/petitions/${submitted.id}`,
  { headers: { authorization: `Bearer ${session.access_token}` } },
  200,
);
if (read.tracking_no !== submitted.tracking_no || read.timeline[0]?.event !== "registered") {
  throw new Error(`read back something else: ${JSON.stringify(read)}`);
}
console.log(`submitted and read back ${read.tracking_no} (${read.state})`);
