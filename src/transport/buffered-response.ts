// A fetch that has read the whole body before answering (src/adapters/node-request-fetch.ts) says
// so here, and readers that want the text take it without the Response stream machinery. On
// Node that machinery is the expensive part: @hono/node-server's lightweight global Response
// builds a full undici Response the moment text() is called (issue 9 profile of a miss: ~7 % of
// the CPU for the two Vault answers). Any other Response is read as usual.

const texts = new WeakMap<Response, () => string>()

/** `text` gives exactly what `response.text()` would. */
export function rememberText(response: Response, text: () => string): Response {
  texts.set(response, text)
  return response
}

/** response.text(), without reading the body's stream when its text is remembered. */
export function responseText(response: Response): Promise<string> {
  const text = texts.get(response)
  if (text === undefined) return response.text()
  texts.delete(response)
  return Promise.resolve(text())
}
