/// The OpenAPI document this server implements, compiled into the binary so
/// that `GET /openapi.yaml` works wherever the binary is copied.
enum OpenAPIDocument {
    static let bytes: [UInt8] = PackageResources.openapi_yaml
}
