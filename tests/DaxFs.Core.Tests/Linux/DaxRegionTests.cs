using DaxFs.Core.Errors;
using DaxFs.Core.Linux;

namespace DaxFs.Core.Tests.Linux;

/// <summary>Regions: ndctl list --regions parsed in every recorded shape, and errors of region commands that point at Get-DaxRegion.</summary>
public class DaxRegionTests
{
    private static string Fixture(string name) => DaxToolJsonTests.Fixture(name);

    [Theory]
    [InlineData("ndctl-list-R.devdax.json")]      // flat array
    [InlineData("ndctl-list-N-R.devdax.json")]    // {regions:[{…, namespaces}]}
    [InlineData("ndctl-list-D-R-N.devdax.json")]  // {dimms, regions:[{mappings, namespaces}]}
    public void Regions_from_every_recorded_shape(string fixture)
    {
        var r = Assert.Single(DaxToolJson.ParseRegions(Fixture(fixture)));
        Assert.Equal("region0", r.Dev);
        Assert.Equal(536870912UL, r.Size);
        Assert.Equal(16777216UL, r.Align);
        Assert.Equal(0UL, r.AvailableSize);
        Assert.Equal(0UL, r.MaxAvailableExtent);
        Assert.Equal("pmem", r.Type);
        Assert.Equal("unknown", r.PersistenceDomain);
        Assert.Null(r.State);
    }

    [Fact]
    public void Mappings_and_nested_namespaces_are_kept()
    {
        var r = Assert.Single(DaxToolJson.ParseRegions(Fixture("ndctl-list-D-R-N.devdax.json")));
        Assert.Equal(new[] { "nmem0" }, r.Dimms);
        Assert.Equal(new[] { "namespace0.0" }, r.Namespaces);
    }

    [Fact]
    public void Namespace_listings_hold_no_region_objects()
    {
        Assert.Empty(DaxToolJson.ParseRegions(Fixture("ndctl-list-N.devdax.json")));
        Assert.Empty(DaxToolJson.ParseRegions(Fixture("ndctl-list-N.empty.txt")));
    }

    [Fact]
    public void Several_regions_and_a_disabled_one()
    {
        // The shape of ndctl's region printer with two regions, one idle (made for this test, not recorded).
        const string json = """
            [{"dev":"region1","size":1073741824,"align":16777216,"available_size":1073741824,"max_available_extent":1073741824,
              "type":"pmem","numa_node":1,"target_node":3,"persistence_domain":"memory_controller"},
             {"dev":"region0","size":536870912,"align":16777216,"available_size":0,"max_available_extent":0,"type":"pmem",
              "state":"disabled","persistence_domain":"unknown"}]
            """;
        var list = DaxToolJson.ParseRegions(json);
        Assert.Equal(new[] { "region1", "region0" }, list.Select(r => r.Dev));
        Assert.Equal(1073741824UL, list[0].MaxAvailableExtent);
        Assert.Equal(1, list[0].NumaNode);
        Assert.Equal(3, list[0].TargetNode);
        Assert.Equal("disabled", list[1].State);
    }

    [Fact]
    public void Listing_regions_asks_for_regions_only_without_the_human_flag()
    {
        var runner = FakeRunner.Returning(Fixture("ndctl-list-R.devdax.json"));
        var tools = new DaxTools(runner);
        Assert.Single(tools.ListRegions());
        Assert.Single(tools.ListRegions(idle: true));
        Assert.Equal(new[] { "list", "--regions" }, runner.Calls[0].Args);
        Assert.Equal(new[] { "list", "--regions", "--idle" }, runner.Calls[1].Args);
    }

    [Fact]
    public void A_create_in_a_region_that_does_not_exist_points_at_Get_DaxRegion()
    {
        var tools = new DaxTools(FakeRunner.Returning("", 237, Fixture("ndctl-create-namespace.noregion-237.stderr")));
        var ex = Assert.Throws<DaxLinuxException>(() => tools.Run(tools.CreateNamespaceCommand("region9", "devdax", 64UL << 20, null, null)));
        Assert.Equal(Errno.ENXIO, ex.Errno);
        Assert.Equal(NextStep.ListRegions, ex.NextStep);
        Assert.Equal("region9", ex.Target);
    }

    [Fact]
    public void A_create_without_room_points_at_the_free_space_Get_DaxRegion_shows()
    {
        var tools = new DaxTools(FakeRunner.Returning("", 228, "failed to create namespace: No space left on device\n"));
        var ex = Assert.Throws<DaxLinuxException>(() => tools.Run(tools.CreateNamespaceCommand("region0", "devdax", 64UL << 20, null, null)));
        Assert.Contains("no room", ex.Message);
        Assert.Equal(NextStep.ShowRegionSpace, ex.NextStep);
    }

    [Fact]
    public void A_missing_namespace_still_points_at_the_namespace_cmdlets()
    {
        var tools = new DaxTools(FakeRunner.Returning("", 250, Fixture("ndctl-destroy-namespace.enxio-250.stderr")));
        var ex = Assert.Throws<DaxLinuxException>(() => tools.Run(tools.DestroyNamespaceCommand("namespace9.9")));
        Assert.Equal(NextStep.ListDevicesAndNamespaces, ex.NextStep);
    }
}
