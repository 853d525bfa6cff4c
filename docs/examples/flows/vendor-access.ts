// The "vendor_access" approval-only flow (docs/hooks.md): any member may sign off, and a blocklist is checked last.
// Written with defineFlow, so every hook's evt.fields has the flow's field types.
import { defineFlow, deny } from "jitflow";

export default defineFlow<{ vendor: string; systems: string[]; days: number; nda_signed: boolean }>({
  /** Any member may approve or deny (the config asks for two approvals), but never their own request. */
  async getPermissions() {
    return { approveDeny: "member", allowSelfApproval: false };
  },

  /** Checked at each approval, so a vendor blocked after the request was made is still caught. */
  async onApprove(evt) {
    const blocked = evt.flow.vars.blockedVendors as string[];
    if (blocked.includes(evt.fields.vendor)) {
      return deny({ reason: `${evt.fields.vendor} is on the blocked vendor list` });
    }
    if (!evt.fields.nda_signed) return deny({ reason: "no NDA, no access" });
    return undefined;
  },
});
