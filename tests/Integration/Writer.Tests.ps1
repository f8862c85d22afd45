# The writer, in the kernel: every image New-DaxFsImage built on the host (vector trees and generated trees; static,
# branching and split) lies in the raw NVDIMM at its own offset (Invoke-Integration.ps1 laid them into the NVDIMM's
# backing file). The reference daxfs module mounts each with phys=<its address>,size=<its exact total size>[,backing=]
# and it must list exactly like its source tree: names, types, modes, owners, sizes, content hashes, symlink targets,
# hard-link groups, link counts. Mounts and the kernel log go through DaxFs.TreeTools (no process per step: each
# costs over a second under emulation). Boot: raw.

BeforeDiscovery {
    . $PSScriptRoot/Guest.Common.ps1
    $images = @($script:Manifest.Images | ForEach-Object { @{ Image = $_ } })
    $vectorTrees = @($script:Manifest.Trees | Where-Object Expected | ForEach-Object { @{ Tree = $_ } })
}

BeforeAll {
    . $PSScriptRoot/Guest.Common.ps1
    $script:Mnt = New-MountPoint 'writer'

    # phys=,size= (and backing=) of an image where it lies in the NVDIMM. The size is the superblock's total_size,
    # which must be the file's length: a smaller size crashes the kernel, so check before any mount.
    function Get-MountOption($Image) {
        if ($Image.TotalSize -ne $Image.Length) { throw "$($Image.Name): total_size $($Image.TotalSize) is not the file's $($Image.Length) bytes; not mounting it." }
        if ($Image.Offset + $Image.TotalSize -gt $script:NvdimmSize) { throw "$($Image.Name) does not fit in the NVDIMM ($script:NvdimmSize bytes)." }
        $o = 'phys=0x{0:x},size={1}' -f ($script:Phys + [uint64]$Image.Offset), $Image.TotalSize
        if ($Image.Backing) { $o += ",backing=$($Image.Backing)" }
        $o
    }
}

AfterAll { Clear-Mount $script:Mnt }

Describe 'Source trees made on the host' {
    It 'vector tree <Tree.Name> matches its expected listing' -ForEach $vectorTrees {
        if (-not $script:Manifest.AsRoot) { Set-ItResult -Skipped -Because 'the trees were made without root, so owners differ from the vectors'; return }
        $listing = [DaxFs.TreeTools.TreeListing]::Load($Tree.Listing)
        [DaxFs.TreeTools.VectorListing]::Compare($listing, $Tree.Expected) -join "`n" | Should -BeNullOrEmpty
    }
}

Describe 'The kernel''s validate option on images New-DaxFsImage wrote' {
    # Run before anything mounts them: a branching image's first mount writes its main branch into the memory.
    It '<Image.Name> is refused, and the kernel says why' -ForEach $images {
        $r = [DaxFs.TreeTools.Kernel]::Mount('daxfs', $script:Mnt, 'daxfs', (Get-MountOption $Image) + ',validate')
        Add-Content -LiteralPath (Join-Path $script:Data 'results/validate.txt') -Value "$($Image.Name)`t$($r.Errno)`t$($r.DaxFsLog)"
        if ($r.Succeeded) { [DaxFs.TreeTools.Kernel]::Unmount($script:Mnt) | Out-Null }
        $r.Succeeded | Should -BeFalse -Because 'the kernel''s validate insists that some directory names the root inode'
        $r.Errno | Should -Be 22
        # Static and branching images fail on the root alone. Split images fail first on the first regular file whose
        # offset in the backing file lies past the image's base region (validate checks it against the base region);
        # when every such offset happens to lie inside it, on the root.
        $reasons = if ($Image.Mode -eq 'split') { 'daxfs: (inode 1 nlink mismatch: nlink=\d+ refcount=0|inode \d+ has invalid data offset)' } else { 'daxfs: inode 1 nlink mismatch: nlink=\d+ refcount=0' }
        $r.DaxFsLog | Should -Match $reasons
    }
}

Describe 'Images built by New-DaxFsImage, mounted by the daxfs module' {
    AfterEach { Clear-Mount $script:Mnt }

    It '<Image.Name> reads back identical to its source tree' -ForEach $images {
        $r = [DaxFs.TreeTools.Kernel]::Mount('daxfs', $script:Mnt, 'daxfs', (Get-MountOption $Image))
        $r.Succeeded | Should -BeTrue -Because "$r"
        (Compare-WithSource $script:Mnt $Image.Listing) -join "`n" | Should -BeNullOrEmpty
        [DaxFs.TreeTools.Kernel]::Unmount($script:Mnt) | Should -Be 0
    }

    It 'the kernel mounts a static image and a branching image''s main branch read-only' {
        foreach ($case in @(@{ Name = 'basic.static'; Option = 'static' }, @{ Name = 'basic.branching'; Option = 'branch=/main' })) {
            $r = [DaxFs.TreeTools.Kernel]::Mount('daxfs', $script:Mnt, 'daxfs', (Get-MountOption (Get-TestImage $case.Name)))
            $r.Succeeded | Should -BeTrue -Because "$r"
            # The super options (after " - ", type and source): the file system's own state, whatever mount(2) asked.
            $line = Get-Content /proc/self/mountinfo | Where-Object { ($_ -split ' ')[4] -eq $script:Mnt }
            $superOptions = (($line -split ' - ')[1] -split ' ')[2] -split ','
            $superOptions | Should -Contain 'ro' -Because "$($case.Name): $line"
            $superOptions | Should -Contain $case.Option -Because "$($case.Name): $line"
            { [IO.File]::WriteAllText((Join-Path $script:Mnt 'new-file'), 'x') } | Should -Throw '*Read-only file system*'
            [DaxFs.TreeTools.Kernel]::Unmount($script:Mnt) | Should -Be 0
        }
    }
}
