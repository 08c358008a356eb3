/**
 * Limits on what is handed to the YAML parser. Its cost grows about 1.6 s per MiB, and nesting a
 * thousand levels deep exhausts its stack (or its regular expressions' memory) after tens of
 * seconds; files DVC writes are small and shallow. A cloned repository can hold anything, so
 * pointer files, `dvc.yaml`, `dvc.lock` and params files are checked in one linear pass first.
 */

/** Larger YAML is refused (a `dvc.lock` in DVC's own layout is read without the YAML parser and has no limit). */
export const MAX_YAML_BYTES = 8 * 1024 * 1024;
/**
 * Files people write by hand (`dvc.yaml`, `.dvc` files) are refused beyond this: a few MiB of
 * them is already absurd, and parsing 8 MiB costs over ten seconds on a busy machine.
 */
export const MAX_HANDWRITTEN_YAML_BYTES = 4 * 1024 * 1024;
/** Deeper nesting of `[`/`{` is refused: no file DVC reads goes past a few dozen levels. */
const MAX_FLOW_DEPTH = 200;
/** A line indented further than this is refused: YAML nests by indentation, and this is 200 levels at two spaces. */
const MAX_INDENT = 400;
/** More `- ` block entries opened on one line than this are refused (`- - - - x` nests one level each). */
const MAX_DASHES = 200;

/** Why `text` is too large or too deeply nested to parse, with what the file holds; undefined when it is fine. */
export function yamlLimitProblem(text: string, maxBytes = MAX_YAML_BYTES): string | undefined {
  if (text.length > maxBytes)
    return `is ${(text.length / 1024 / 1024).toFixed(1)} MiB, more than the ${maxBytes / 1024 / 1024} MiB mlv reads as YAML for such a file`;
  let flow = 0;
  let lineStart = true;
  let indent = 0;
  let dashes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      lineStart = true;
      indent = 0;
      dashes = 0;
      continue;
    }
    if (lineStart) {
      if (c === 32) {
        if (++indent > MAX_INDENT) return `has a line indented more than ${MAX_INDENT} columns (nesting too deep)`;
        continue;
      }
      if (c === 45 /* - */ && (text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 9)) {
        if (++dashes > MAX_DASHES) return `nests more than ${MAX_DASHES} lists on one line`;
        i++;
        continue;
      }
      lineStart = false;
    }
    if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++flow > MAX_FLOW_DEPTH) return `nests brackets more than ${MAX_FLOW_DEPTH} levels deep`;
    } else if ((c === 93 /* ] */ || c === 125) /* } */ && flow > 0) flow--;
  }
  return undefined;
}
