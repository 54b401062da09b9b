/// An hourly list price of an instance type, read from a `PriceList` file of the catalog.
///
/// Prices are data a team owns: the file states where each figure was read and when, and kaitoc never shows a price
/// the catalog lacks.
public struct InstancePrice: Sendable, Hashable {
    /// The instance type, compared case-insensitively.
    public var instanceType: String
    /// The cloud whose price it is (`azure`, `aws`, `arc`).
    public var cloud: String
    /// The price of one node for one hour.
    public var perHour: Double
    /// The currency, for example `USD`.
    public var currency: String
    /// The region or price basis the figure is for, as the file states it.
    public var region: String
    /// Where the figure was read: a URL or a document.
    public var source: String
    /// When it was read (`YYYY-MM-DD`).
    public var date: String
    /// Where it is defined.
    public var location: SourceLocation

    /// "3.67 USD/h (eastus, <source>, 2026-11-01)".
    public var citation: String { "\(region), \(source), \(date)" }
}

extension Catalog {
    /// The price of an instance type on a cloud, or `nil` when the catalog has none.
    public func price(of instanceType: InstanceType) -> InstancePrice? {
        let key = instanceType.name.lowercased()
        return prices.first { $0.cloud == instanceType.cloud && $0.instanceType.lowercased() == key }
    }
}
