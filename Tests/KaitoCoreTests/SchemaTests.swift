import Foundation
import KaitoCore
import Testing

/// `kaitoc schema` (docs/schemas.md): the files, their layout and the catalog's names as enums.
///
/// Validation of the repository's workspaces and of known-bad ones with `jsonschema` is in scripts/schema_tests.py.
struct SchemaTests {
    static func generated() -> [JSONSchemas.File] {
        let (catalog, _, _) = CatalogLoader.load(directory: TestSupport.testPresets.path)
        return JSONSchemas.generate(catalog: catalog)
    }

    @Test func writesTheCRDsCatalogLayoutAndTheCatalogSchemas() {
        #expect(
            Self.generated().map(\.path) == [
                "kaito.sh/inferenceset_v1alpha1.json", "kaito.sh/inferenceset_v1beta1.json",
                "kaito.sh/workspace_v1alpha1.json", "kaito.sh/workspace_v1beta1.json",
                "kaitoc/instancetypecatalog.json", "kaitoc/modelcatalog.json", "kaitoc/pricelist.json",
                "kaitoc/targetlist.json",
            ]
        )
    }

    @Test func enumsComeFromTheCatalogAndFieldsFollowTheAPIVersion() throws {
        let files = Self.generated()
        func schema(_ path: String) throws -> [String: Any] {
            let file = try #require(files.first { $0.path == path })
            return try #require(try JSONSerialization.jsonObject(with: Data(file.contents.utf8)) as? [String: Any])
        }
        func at(_ object: [String: Any], _ keys: String...) -> Any? {
            var current: Any? = object
            for key in keys { current = (current as? [String: Any])?[key] }
            return current
        }
        let beta = try schema("kaito.sh/workspace_v1beta1.json")
        let alpha = try schema("kaito.sh/workspace_v1alpha1.json")
        let types = try #require(at(beta, "properties", "resource", "properties", "instanceType", "anyOf") as? [Any])
        let typeEnum = try #require((types.first as? [String: Any])?["enum"] as? [String])
        #expect(typeEnum.contains("Standard_NC24ads_A100_v4") && typeEnum.contains("Standard_NC6s_v3"))
        #expect(typeEnum == typeEnum.sorted())
        let names = try #require(
            at(beta, "properties", "inference", "properties", "preset", "properties", "name", "anyOf") as? [Any]
        )
        let nameEnum = try #require((names.first as? [String: Any])?["enum"] as? [String])
        #expect(nameEnum.contains("microsoft/phi-4") && nameEnum.contains("phi-4") && nameEnum.contains("falcon-7b"))
        // partition and modelAccessSecret exist only in v1beta1 (docs/reference/kaito.md section 1.3).
        #expect(at(beta, "properties", "resource", "properties", "partition") != nil)
        #expect(at(alpha, "properties", "resource", "properties", "partition") == nil)
        let alphaOptions = at(
            alpha,
            "properties",
            "inference",
            "properties",
            "preset",
            "properties",
            "presetOptions",
            "properties"
        )
        #expect((alphaOptions as? [String: Any])?["modelAccessSecret"] == nil)
        #expect(at(beta, "additionalProperties") as? Bool == false)
    }

    @Test func sameCatalogSameBytes() {
        #expect(Self.generated() == Self.generated())
    }
}
