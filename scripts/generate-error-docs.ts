// Writes docs/errors.md from the error catalog in src/errors.ts.
import { writeFile } from "node:fs/promises";
import { formatErrorCatalogMarkdown } from "../src/errors.ts";

await writeFile(new URL("../docs/errors.md", import.meta.url), formatErrorCatalogMarkdown());
