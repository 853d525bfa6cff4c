// Where a sign-in may send someone afterwards: a path on this server, never another site. Pure and free of
// Node: the web app bundles it too, so the server's redirect and the sign-in page apply one rule.

const base = "http://jitflow.invalid";

/**
 * C0 controls, DEL, C1 controls and backslashes: browsers drop some controls and read "\" as "/", so
 * "/\t/evil.example" and "/\evil.example" would both lead to //evil.example.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
const unsafe = /[\u0000-\u001f\u007f-\u009f\\]/;

/** Percent-escapes of ASCII characters and of C1 controls (UTF-8 "%C2%80" to "%C2%9F"), decoded once. */
const decodeOnce = (text: string): string =>
  text.replace(/%(?:C2%([89][0-9A-F])|([0-7][0-9A-F]))/gi, (_escape, c1?: string, ascii?: string) =>
    String.fromCharCode(Number.parseInt((c1 ?? ascii) as string, 16)),
  );

/** One leading "/", then no control character and no backslash. */
const isLocal = (path: string): boolean =>
  path.startsWith("/") && !path.startsWith("//") && !unsafe.test(path);

/**
 * `next` when it is a path on this server, normalised as a browser reads it; otherwise "/". Refused:
 * anything but one leading "/" ("//evil.example", "https://…"); control characters and backslashes
 * anywhere; the same encoded, however many times ("/%2F%2Fevil.example", "/%5Cevil", "/%252F…"); and
 * paths that normalise to another host ("/.//evil.example").
 *
 * @example
 * ```ts
 * localPath("/approvals?tab=mine"); // "/approvals?tab=mine"
 * localPath("/\t/evil.example"); // "/"
 * ```
 */
export function localPath(next: string | null | undefined): string {
  if (!next || next.length > 2000 || !isLocal(next)) return "/";
  // Decoded until nothing changes (each round makes it shorter): a layer that decodes once more cannot find
  // a way out either.
  for (let text = next; ; ) {
    const decoded = decodeOnce(text);
    if (!isLocal(decoded)) return "/";
    if (decoded === text) break;
    text = decoded;
  }
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return "/";
  }
  const path = `${url.pathname}${url.search}${url.hash}`;
  return url.origin === base && isLocal(path) ? path : "/";
}
