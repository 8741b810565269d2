// Writes docs/configuration.md from the configuration schema.
import { writeFile } from "node:fs/promises";
import { formatConfigMarkdown } from "../src/config/describe-config.ts";

await writeFile(new URL("../docs/configuration.md", import.meta.url), formatConfigMarkdown());
