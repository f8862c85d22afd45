using DaxFs.Core.Linux;

namespace DaxFs.Core.Tests.Linux;

public class DaxToolJsonTests
{
    internal static string Fixture(string name) => File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests/fixtures/linux", name));

    [Theory]
    [InlineData("ndctl-list-N.devdax.json")]      // flat array
    [InlineData("ndctl-list-N-R.devdax.json")]    // {regions:[{namespaces}]}
    [InlineData("ndctl-list-D-N.devdax.json")]    // {dimms, namespaces}
    [InlineData("ndctl-list-D-R-N.devdax.json")]  // {dimms, regions:[{namespaces}]}
    public void Namespaces_from_every_recorded_shape(string fixture)
    {
        var ns = Assert.Single(DaxToolJson.ParseNamespaces(Fixture(fixture)));
        Assert.Equal("namespace0.0", ns.Dev);
        Assert.Equal("devdax", ns.Mode);
        Assert.Equal("dev", ns.Map);
        Assert.Equal(526385152UL, ns.Size);
        Assert.Equal("dax0.0", ns.CharDev);
        Assert.Equal(2097152UL, ns.Align);
        Assert.Equal("region0", ns.Region);
        Assert.Equal("654bd46c-b047-474e-b756-c426613b678b", ns.Uuid);
    }

    [Fact]
    public void Human_single_object_parses_but_loses_the_size()
    {
        // -u prints one match as a bare object with sizes as text: why the module never passes -u.
        var ns = Assert.Single(DaxToolJson.ParseNamespaces(Fixture("ndctl-list-N-u.devdax.json")));
        Assert.Equal("namespace0.0", ns.Dev);
        Assert.Null(ns.Size);
        Assert.Equal(2097152UL, ns.Align);
    }

    [Theory]
    [InlineData("ndctl-list-N.empty.txt")]
    [InlineData("")]
    [InlineData("\n  \n")]
    public void Empty_output_is_an_empty_list(string fixtureOrText)
    {
        string text = fixtureOrText.EndsWith(".txt") ? Fixture(fixtureOrText) : fixtureOrText;
        Assert.Empty(DaxToolJson.ParseNamespaces(text));
        Assert.Empty(DaxToolJson.ParseDaxDevices(text));
    }

    [Fact]
    public void Created_namespaces_are_bare_objects_and_devdax_ones_carry_a_daxregion()
    {
        var fsdax = Assert.Single(DaxToolJson.ParseNamespaces(Fixture("ndctl-create-namespace.fsdax.json")));
        Assert.Equal("fsdax", fsdax.Mode);
        Assert.Equal("pmem0", fsdax.BlockDev);
        Assert.Equal(512u, fsdax.SectorSize);
        var devdax = Assert.Single(DaxToolJson.ParseNamespaces(Fixture("ndctl-create-namespace.devdax.json")));
        Assert.Equal("devdax", devdax.Mode);
        Assert.Equal("dax0.0", devdax.CharDev); // from daxregion.devices[0]
    }

    [Fact]
    public void Raw_and_disabled_namespaces()
    {
        var raw = Assert.Single(DaxToolJson.ParseNamespaces(Fixture("ndctl-list-N.raw.json")));
        Assert.Equal("raw", raw.Mode);
        Assert.Equal("pmem0", raw.BlockDev);
        Assert.Null(raw.State);
        var disabled = Assert.Single(DaxToolJson.ParseNamespaces(Fixture("ndctl-list-N-i.disabled-raw.json")));
        Assert.Equal("disabled", disabled.State);
    }

    [Fact]
    public void Regions_alone_give_no_namespaces()
    {
        Assert.Empty(DaxToolJson.ParseNamespaces(Fixture("ndctl-list-R.devdax.json")));
    }

    [Theory]
    [InlineData("daxctl-list.devdax.json", false)]
    [InlineData("daxctl-list-devices-mappings.devdax.json", true)]
    [InlineData("daxctl-list-R-D.devdax.json", false)]
    [InlineData("daxctl-reconfigure-devdax.json", false)]
    public void Dax_devices_from_every_recorded_shape(string fixture, bool hasMappings)
    {
        var d = Assert.Single(DaxToolJson.ParseDaxDevices(Fixture(fixture)));
        Assert.Equal("dax0.0", d.Chardev);
        Assert.Equal(526385152UL, d.Size);
        Assert.Equal(0, d.TargetNode);
        Assert.Equal(2097152UL, d.Align);
        Assert.Equal("devdax", d.Mode);
        Assert.Null(d.State);
        if (hasMappings)
        {
            var m = Assert.Single(d.Mappings);
            Assert.Equal(0x100a00000UL, m.Start);
            Assert.Equal(0x11fffffffUL, m.End);
            Assert.Equal(526385152UL, m.Size);
        }
        else Assert.Empty(d.Mappings);
    }

    [Fact]
    public void Region_nesting_keeps_the_region_id()
    {
        Assert.Equal(0, Assert.Single(DaxToolJson.ParseDaxDevices(Fixture("daxctl-list-R-D.devdax.json"))).RegionId);
    }

    [Fact]
    public void Human_single_dax_device()
    {
        var d = Assert.Single(DaxToolJson.ParseDaxDevices(Fixture("daxctl-list-u.devdax.json")));
        Assert.Equal("dax0.0", d.Chardev);
        Assert.Null(d.Size);
    }

    [Fact]
    public void Disabled_device_after_a_failed_mode_change()
    {
        var d = Assert.Single(DaxToolJson.ParseDaxDevices(Fixture("daxctl-list.disabled.json")));
        Assert.Equal("disabled", d.State);
    }

    [Fact]
    public void System_ram_fields_and_multi_range_mappings()
    {
        // The shape daxctl/json.c prints for a kmem-bound device of a dynamic (CXL) region.
        const string json = """
        [
          {
            "chardev":"dax1.0",
            "size":4294967296,
            "target_node":2,
            "align":2097152,
            "mode":"system-ram",
            "online_memblocks":32,
            "total_memblocks":32,
            "movable":true,
            "mappings":[
              { "page_offset":0, "start":5368709120, "end":7516192767, "size":2147483648 },
              { "page_offset":524288, "start":10737418240, "end":12884901887, "size":2147483648 }
            ]
          },
          { "chardev":"dax1.1", "size":0, "mode":"devdax", "state":"disabled", "movable":false }
        ]
        """;
        var list = DaxToolJson.ParseDaxDevices(json);
        Assert.Equal(2, list.Count);
        var d = list[0];
        Assert.Equal("system-ram", d.Mode);
        Assert.Equal(32, d.OnlineMemblocks);
        Assert.Equal(32, d.TotalMemblocks);
        Assert.True(d.Movable);
        Assert.Equal(2, d.Mappings.Count);
        Assert.Equal(524288UL, d.Mappings[1].PageOffset);
        Assert.False(list[1].Movable);
    }

    [Fact]
    public void Hex_strings_are_numbers_too()
    {
        var d = Assert.Single(DaxToolJson.ParseDaxDevices("""{"chardev":"dax0.0","size":"0x1000","mappings":[{"start":"0x100000000","end":"0x100000fff"}]}"""));
        Assert.Equal(0x1000UL, d.Size);
        Assert.Equal(0x1000UL, d.Mappings[0].Size);
    }

    [Fact]
    public void Garbage_is_a_clear_error()
    {
        var ex = Assert.Throws<DaxLinuxException>(() => DaxToolJson.ParseNamespaces("libndctl: something odd\n"));
        Assert.Equal("NdctlOutputInvalid", ex.ErrorId);
        Assert.Equal(DaxErrorKind.ToolOutputInvalid, ex.Kind);
        ex = Assert.Throws<DaxLinuxException>(() => DaxToolJson.ParseDaxDevices("[{"));
        Assert.Equal("DaxctlOutputInvalid", ex.ErrorId);
    }

    [Theory]
    [InlineData("namespace0.0", "region0")]
    [InlineData("namespace12.3", "region12")]
    [InlineData("namespacex.0", null)]
    [InlineData("pfn0.0", null)]
    public void Region_from_namespace_name(string dev, string? region) => Assert.Equal(region, DaxToolJson.RegionOfNamespace(dev));
}
