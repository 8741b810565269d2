// A value already serialised to JSON, for writers that would otherwise `JSON.stringify` it (the stream
// responses: src/server/stream-response.ts), and templates that make such values cheaply for objects
// of a fixed shape that differ in one string: a streamed answer's text chunks are the same object but
// for the text, so each is the template's prefix + `JSON.stringify(text)` + its suffix instead of a
// fresh object walked by `JSON.stringify` (~20 µs per 19-chunk answer, docs/benchmarks.md). Depends on
// nothing.

export class SerializedJson {
  /** The JSON text; must be what `JSON.stringify` gives for the value it stands for. */
  readonly json: string;

  constructor(json: string) {
    this.json = json;
  }

  /** Anyone who does stringify it (or a structure holding it) gets the value it stands for. */
  toJSON(): unknown {
    return JSON.parse(this.json);
  }
}

/** `JSON.stringify(value)`, or the text a `SerializedJson` already holds. */
export function stringifyJson(value: unknown): string {
  return value instanceof SerializedJson ? value.json : JSON.stringify(value);
}

/**
 * A maker of `SerializedJson` for `build(text)`, serialised once here with a marker for the text: the
 * result for any text is then the same JSON as `JSON.stringify(build(text))`. `build` must put `text`
 * into the object as a string value, after every other string value it holds that could contain the
 * marker (the last occurrence is taken), and must not otherwise depend on `text`.
 */
export function createStringSlotTemplate(build: (text: string) => object): (text: string) => SerializedJson {
  const marker = "\u0000ostrom-slot\u0000";
  const template = JSON.stringify(build(marker));
  const markerJson = JSON.stringify(marker);
  const at = template.lastIndexOf(markerJson);
  if (at < 0) throw new Error("createStringSlotTemplate: build() did not place the text in its object");
  const prefix = template.slice(0, at);
  const suffix = template.slice(at + markerJson.length);
  return (text) => new SerializedJson(prefix + JSON.stringify(text) + suffix);
}
