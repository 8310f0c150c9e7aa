/// lockd's version: printed by `lockd --version`, exported as
/// `lockd_build_info{version}`, and the same as `info.version` in
/// `openapi.yaml` (a test holds them together).
public enum LockdVersion {
    /// The version of this build.
    public static let current = "0.1.0"
}
