/** A route the double implements: method, path template (FastAPI style) and a summary. */
export interface RouteSpec {
  method: 'GET' | 'POST';
  path: string;
  summary: string;
}

/**
 * The OpenAPI document the CLI uses for feature detection (contract §9.3); it lists exactly the paths the
 * double answers, so a CLI probing for SDK sync or multipart S3 sees them as absent.
 */
export function openApiDocument(routes: readonly RouteSpec[]): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const entry = paths[route.path] ?? {};
    entry[route.method.toLowerCase()] = {
      summary: route.summary,
      ...(params.length > 0 ? { parameters: params } : {}),
      responses: { '200': { description: 'Successful Response' } },
    };
    paths[route.path] = entry;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Open Wearables (apple-import sandbox double)', version: 'sandbox' },
    paths,
  };
}
