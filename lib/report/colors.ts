// The verdict colours: one source for the stylesheet's badges and notes and for every figure's marks.
import type { Status } from "../verdict/status.ts";

export const STATUS_COLOR: Record<Status, string> = {
  PASS: "#1a7f37",
  WARN: "#9a6700",
  FAIL: "#cf222e",
  UNRESOLVED: "#9a6700",
  SKIPPED: "#6e7781",
  "NOT RUN": "#6e7781",
  "NOT CHECKED": "#6e7781",
  INFO: "#0969da",
};
