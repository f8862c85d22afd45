# Format 8 in the real kernel (boot v8: the format-8 module, release 0.1.0, loaded by run-vm.sh; the NVDIMM raw and laid
# out by Invoke-Integration.ps1, see v8.json): the loaded module as Mount-DaxFs reads it from sysfs, and the refusal of
# the other generation (switching modules within the boot with busybox rmmod/insmod); every v8 vector and every image
# DaxFs builds in format 8 mounted through Mount-DaxFs and listed against its source tree; writes through format-8 mounts
# (new, changed and removed files, appends, truncates, attributes, renames, thousands of entries in a large image) read
# back offline with Get-DaxFsItem/Get-DaxFsContent exactly as a fresh mount lists them; the hostile format-8 set (breaks
# and mutants of kernel-written overlays and of large images, and breaks of the overlay the kernel wrote into the large
# image) through Mount-DaxFs with its gate. A kernel crash ends the boot, which the host reports as a failure.

BeforeDiscovery {
    $script:V8 = Get-Content -Raw (Join-Path $env:DAXFS_INTEGRATION_DATA 'v8.json') | ConvertFrom-Json
    # The images DaxFs builds (mkdaxfs's own v8 vectors are listed against their trees by the vectors' CHECK.md and offline
    # by the xunit suite; here they serve the module, runbook and validate tests).
    $script:Listed = @($script:V8.Images | Where-Object Kind -in 'built', 'large' | ForEach-Object { @{ Image = $_ } })
    $script:Written = @($script:V8.Images | Where-Object Kind -eq 'write' | ForEach-Object { @{ Image = $_ } })
    $script:Cases = @($script:V8.Hostile | ForEach-Object { @{ Case = $_ } })
}

BeforeAll {
    . $PSScriptRoot/Guest.Common.ps1
    . $PSScriptRoot/V8Images.ps1
    $script:V8 = Get-Content -Raw (Join-Path $script:Data 'v8.json') | ConvertFrom-Json
    $script:Mnt = New-MountPoint 'v8'
    $script:Counts = [ordered]@{ Listed = 0; WrittenAndReadBack = 0; Hostile = 0; RefusedByDaxFs = 0; MountedAndRead = 0; RefusedByKernel = 0; ReadErrors = 0
        LargeOverlayEntries = 0; LargeBreaks = 0 }
    $script:DaxFsRefusals = 'ImageFailsValidation', 'ImageLargerThanMountSize', 'NoDaxFsImageAtTarget', 'UnsupportedImageVersion', 'MountSizeTooSmall'
    $script:Outcomes = [Collections.Generic.List[object]]::new()

    function Get-V8Image([string] $Name) { $script:V8.Images | Where-Object Name -eq $Name }

    # Mount-DaxFs on an image where it lies in the NVDIMM; returns the DaxFsMount.
    function Mount-V8($Image, [hashtable] $Extra = @{}) {
        $p = @{ PhysicalAddress = $script:Phys + [uint64]$Image.Offset; Size = [uint64]$Image.Length; MountPoint = $script:Mnt; Confirm = $false; ErrorAction = 'Stop' }
        if ($Image.Backing) { $p.BackingFile = $Image.Backing }
        Mount-DaxFs @p @Extra -WarningAction SilentlyContinue
    }

    # The error id of a refused Mount-DaxFs (and no mount left behind), or $null when it mounted.
    function Get-MountRefusal($Image, [hashtable] $Extra = @{}) {
        try { Mount-V8 $Image $Extra | Out-Null; $null }
        catch { $_ }
    }

    function Switch-Module([string] $Path) {
        Clear-Mount $script:Mnt
        Invoke-Tool busybox @('rmmod', 'daxfs') | Out-Null
        Invoke-Tool busybox @('insmod', $Path) | Out-Null
    }

    # The exact names and attributes offline, from the engine's overlay view of the image's bytes (read from /dev/pmem0):
    # names escaped as TreeListing does, so that names that are not UTF-8 are compared byte for byte.
    function Get-ExactOfflineView($Image) {
        $bytes = Read-Pmem ([long]$Image.Offset) ([int]$Image.Length)
        $reader = [DaxFs.Core.Read.DaxFsImageReader]::Open([DaxFs.Core.Read.ByteImageMemory]::new($bytes), $Image.Backing)
        try {
            $n = [DaxFs.TreeTools.Names]
            $lines = foreach ($i in [DaxFs.Core.Overlay.OverlayView]::Open($reader).Walk('/', $true, [int]::MaxValue, [Threading.CancellationToken]::None)) {
                if ($i.FullName -eq '/') { continue }
                $t = switch ($i.Type) { 'Directory' { 'd' } 'SymbolicLink' { 'l' } default { 'f' } }
                '{0}|{1}|{2}|{3}|{4}|{5}|{6}|{7}' -f $t, [Convert]::ToString($i.Inode.Mode -band 0xFFF, 8), $i.Inode.Uid, $i.Inode.Gid, $i.Inode.Size, $i.Inode.Nlink,
                    $(if ($null -ne $i.TargetBytes) { $n::Escape($i.TargetBytes) }), $n::Escape($i.FullNameBytes)
            }
            Format-View $lines @()
        }
        finally { $reader.Dispose() }
    }

    # Two sorted views must agree line for line; the differences in full go to results/v8-view-NAME.txt and the first few
    # into the failure (two views of 11,000 lines are too large for Should -Be's message).
    function Assert-SameView([string[]] $Offline, [string[]] $Kernel, [string] $Name) {
        $only = [Collections.Generic.List[string]]::new()
        $k = [Collections.Generic.Dictionary[string, int]]::new([StringComparer]::Ordinal)
        foreach ($l in $Kernel) { $k[$l] = 1 + $(if ($k.ContainsKey($l)) { $k[$l] } else { 0 }) }
        foreach ($l in $Offline) { if ($k.ContainsKey($l) -and $k[$l] -gt 0) { $k[$l]-- } else { $only.Add("offline only: $l") } }
        foreach ($p in $k.GetEnumerator()) { for ($i = 0; $i -lt $p.Value; $i++) { $only.Add("kernel only: $($p.Key)") } }
        if ($only.Count) {
            $only | Set-Content (Join-Path $script:Data "results/v8-view-$Name.txt")
            throw ("The offline view ($Name, $($Offline.Count) lines) differs from the kernel's ($($Kernel.Count) lines) in $($only.Count) lines " +
                "(results/v8-view-$Name.txt), first: " + (($only | Select-Object -First 6) -join ' ;; '))
        }
        $Offline.Count | Should -Be $Kernel.Count
    }

    # Changes made through a format-8 mount: new directories, files (a 5-page one written across page boundaries, then
    # appended to), a truncate, chmod and chown, symlinks, renames within and across directories, create+remove and
    # mkdir+rmdir; on an image with a base, a write inside a base file, a removed base file, a chmod'ed and a renamed one.
    function Invoke-V8Writes([string] $Root, [int] $Bulk = 0) {
        $n = Join-Path $Root 'v8new'
        New-Item -ItemType Directory -Path $n, (Join-Path $n 'sub') | Out-Null
        [IO.File]::WriteAllText((Join-Path $n 'f1.txt'), "hello from the kernel`n")
        $big = [byte[]]::new(20000); [Random]::new(42).NextBytes($big)
        [IO.File]::WriteAllBytes((Join-Path $n 'big.bin'), $big)
        [IO.File]::AppendAllText((Join-Path $n 'big.bin'), 'tail!')
        $fs = [IO.File]::Open((Join-Path $n 'big.bin'), 'Open', 'ReadWrite'); try { $fs.Position = 4092; $fs.Write([byte[]](1..16), 0, 16) } finally { $fs.Dispose() }
        [IO.File]::WriteAllBytes((Join-Path $n 't.bin'), [byte[]]::new(12000))
        $fs = [IO.File]::Open((Join-Path $n 't.bin'), 'Open', 'ReadWrite'); try { $fs.SetLength(5000) } finally { $fs.Dispose() }
        [IO.File]::SetUnixFileMode((Join-Path $n 'f1.txt'), [IO.UnixFileMode]0x1A0) # 0640
        Invoke-Tool chown @('4321:8765', (Join-Path $n 'f1.txt')) | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $n 'rel-link') -Target 'f1.txt' | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $n 'abs-link') -Target '/v8new/big.bin' | Out-Null
        Move-Item -LiteralPath (Join-Path $n 'f1.txt') -Destination (Join-Path $n 'f1-renamed.txt')
        Move-Item -LiteralPath (Join-Path $n 't.bin') -Destination (Join-Path $n 'sub/t-moved.bin')
        [IO.File]::WriteAllText((Join-Path $n 'gone.txt'), 'x'); Remove-Item -LiteralPath (Join-Path $n 'gone.txt')
        New-Item -ItemType Directory -Path (Join-Path $n 'tmpdir') | Out-Null; Remove-Item -LiteralPath (Join-Path $n 'tmpdir')
        # Base files (images with a base): the first few regular files of the tree, outside v8new.
        # (names of printable ASCII only: generated trees hold names PowerShell's paths cannot carry)
        $base = @(Get-ChildItem -LiteralPath $Root -File -Force -Recurse -Depth 3 -ErrorAction SilentlyContinue |
                Where-Object { $_.FullName -notlike "$n*" -and $_.FullName -cmatch '^[ -~]+$' -and $_.FullName.Length -lt 200 -and -not $_.LinkTarget -and $_.Length -gt 5 -and $_.LinkType -ne 'HardLink' } | Select-Object -First 5)
        if ($base.Count -ge 5) {
            Write-Host "  base files changed: $(($base | ForEach-Object { $_.FullName.Substring($Root.Length) }) -join ', ')"
            $fs = [IO.File]::Open($base[0].FullName, 'Open', 'ReadWrite'); try { $fs.Position = 3; $fs.Write([byte[]][char[]]'XYZ', 0, 3) } finally { $fs.Dispose() }
            # -Force: PowerShell refuses to remove or move a file without write permission (basic's /owned) otherwise.
            Remove-Item -LiteralPath $base[1].FullName -Force
            [IO.File]::SetUnixFileMode($base[2].FullName, [IO.UnixFileMode]0x180) # 0600
            Move-Item -LiteralPath $base[3].FullName -Destination (Join-Path $n 'moved-from-base') -Force
            # An append to an untouched base file (KERNEL, split mode: the page is kept, the new size is lost at remount).
            [IO.File]::AppendAllText($base[4].FullName, 'appended through the mount')
            [pscustomobject]@{ Path = $base[4].FullName.Substring($Root.Length); Size = $base[4].Length }
        }
        # Thousands of entries: directories of empty files, every tenth with a line of its own.
        for ($d = 0; $d -lt [math]::Ceiling($Bulk / 100); $d++) {
            $dir = Join-Path $n ('bulk{0:000}' -f $d)
            [void][IO.Directory]::CreateDirectory($dir)
            for ($f = 0; $f -lt 100 -and $d * 100 + $f -lt $Bulk; $f++) {
                $path = Join-Path $dir ('entry-{0:0000}' -f ($d * 100 + $f))
                if ($f % 10 -eq 0) { [IO.File]::WriteAllText($path, "entry $($d * 100 + $f)`n") } else { [IO.File]::WriteAllBytes($path, [byte[]]@()) }
            }
        }
    }

    # A write of the memory through /dev/pmem0 (the raw namespace over the whole NVDIMM), flushed to it.
    function Write-Pmem([long] $Offset, [byte[]] $Bytes) {
        $fs = [IO.FileStream]::new('/dev/pmem0', 'Open', 'ReadWrite', 'ReadWrite', 1MB)
        try { $fs.Position = $Offset; $fs.Write($Bytes, 0, $Bytes.Length); $fs.Flush($true) } finally { $fs.Dispose() }
    }
    function Read-Pmem([long] $Offset, [int] $Length) {
        $b = [byte[]]::new($Length)
        $fs = [IO.FileStream]::new('/dev/pmem0', 'Open', 'Read', 'ReadWrite', 1MB)
        try { $fs.Position = $Offset; $fs.ReadExactly($b, 0, $Length) } finally { $fs.Dispose() }
        # One array, not its bytes one by one down the pipeline (25 MB of boxed bytes took the guest's memory).
        , $b
    }

    # One hostile image at a physical range: Mount-DaxFs with its gate; refused (the error id, and a gate refusal's rules),
    # or mounted, read in full and unmounted. Returns the outcome; throws what a test must fail on.
    function Test-HostileMount([string] $Name, [string] $Kind, [string] $Expect, [uint64] $Offset, [uint64] $Length, [string] $Backing, [string] $Source) {
        $script:Counts.Hostile++
        $p = @{ PhysicalAddress = $script:Phys + $Offset; Size = $Length; MountPoint = $script:Mnt; Confirm = $false; ErrorAction = 'Stop' }
        if ($Backing) { $p.BackingFile = $Backing }
        $err = $null
        try { Mount-DaxFs @p -WarningAction SilentlyContinue | Out-Null } catch { $err = $_ }
        if ($err) {
            $id = ($err.FullyQualifiedErrorId -split ',')[0]
            $rules = @()
            if ($id -eq 'ImageFailsValidation') { $rules = @($err.Exception.Data['Findings'] | Where-Object Severity -eq 'Error' | ForEach-Object RuleId | Select-Object -Unique) }
            $byDaxFs = $id -in $script:DaxFsRefusals
            if ($byDaxFs) { $script:Counts.RefusedByDaxFs++ } else { $script:Counts.RefusedByKernel++ }
            $script:Outcomes.Add([pscustomobject]@{ Name = $Name; Kind = $Kind; Source = $Source; Outcome = $(if ($byDaxFs) { 'refused' } else { 'kernel-refused' }); ErrorId = $id; Rules = $rules -join ' ' })
            if ($Kind -eq 'valid') { throw "An untouched image must mount: $id $($err.Exception.Message)" }
            if ($Kind -eq 'structural' -and $Expect -and $rules -notcontains $Expect) { throw "The gate must refuse $Name with $Expect; got $id $($rules -join ' '): $($err.Exception.Message)" }
            return
        }
        $readError = $null
        try { [DaxFs.TreeTools.TreeListing]::List($script:Mnt) | Out-Null } catch { $readError = $_.Exception.GetBaseException().Message }
        Clear-Mount $script:Mnt
        if ($readError) { $script:Counts.ReadErrors++ } else { $script:Counts.MountedAndRead++ }
        $script:Outcomes.Add([pscustomobject]@{ Name = $Name; Kind = $Kind; Source = $Source; Outcome = $(if ($readError) { "mounted, read error: $readError" } else { 'mounted and read' }); ErrorId = $null; Rules = '' })
        if ($Kind -eq 'structural') { throw "The gate must refuse $Name ($Expect), and it mounted." }
        if ($Kind -eq 'valid' -and $readError) { throw "An untouched image must read: $readError" }
    }
}

AfterAll {
    Clear-Mount $script:Mnt
    $out = Join-Path $script:Data 'results'
    New-Item -ItemType Directory -Force $out | Out-Null
    [pscustomobject]$script:Counts | ConvertTo-Json | Set-Content (Join-Path $out 'v8-counts.json')
    $script:Outcomes | ConvertTo-Json -Depth 3 | Set-Content (Join-Path $out 'v8-hostile-outcomes.json')
    Write-Host ("V8: {0} images listed like their source, {1} written and read back; hostile: {2} images, {3} refused by DaxFs, {4} mounted and read, {5} refused by the kernel, {6} read errors" -f
        $script:Counts.Listed, $script:Counts.WrittenAndReadBack, $script:Counts.Hostile, $script:Counts.RefusedByDaxFs, $script:Counts.MountedAndRead, $script:Counts.RefusedByKernel, $script:Counts.ReadErrors)
}

Describe 'The loaded daxfs module' {
    AfterEach { Clear-Mount $script:Mnt }

    It 'is the format-8 module, and Mount-DaxFs refuses a format-5 image before the kernel sees it' {
        Get-Content /sys/module/daxfs/version | Should -Be '0.1.0'
        $err = Get-MountRefusal (Get-V8Image 'deep.static.format5')
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'ModuleCannotMountFormat,*'
        $err.CategoryInfo.Category | Should -Be 'NotInstalled'
        $err.Exception.Message | Should -BeLike '*daxfs module 0.1.0 (format 8)*New-DaxFsImage -Format 8*'
        Get-DaxFsMount | Should -BeNullOrEmpty
    }

    It 'switched to the format-5 module within the boot: a format-8 image is refused, a format-5 one mounts as format 5' {
        Switch-Module $script:V8.Module5
        try {
            Test-Path /sys/module/daxfs/version | Should -BeFalse
            $err = Get-MountRefusal (Get-V8Image 'deep.v8.static')
            $err.FullyQualifiedErrorId | Should -BeLike 'ModuleCannotMountFormat,*'
            $err.Exception.Message | Should -BeLike '*without a version (format 5)*rmmod daxfs*New-DaxFsImage -Format 5*'
            $err = Get-MountRefusal (Get-V8Image 'deep.static.format5') @{ MemoryModel = 'Cxl3' }
            $err.FullyQualifiedErrorId | Should -BeLike 'MountOptionNeedsFormat8,*'
            $m = Mount-V8 (Get-V8Image 'deep.static.format5')
            $m.Format | Should -Be 5
            $m.ReadOnly | Should -BeTrue
            $m.Module | Should -Be 'daxfs module without a version (format 5)'
            (Compare-WithSource $script:Mnt (Get-V8Image 'deep.static.format5').Listing) -join "`n" | Should -BeNullOrEmpty
            Dismount-DaxFs $script:Mnt -Confirm:$false
        }
        finally { Switch-Module $script:V8.Module8 }
        Get-Content /sys/module/daxfs/version | Should -Be '0.1.0'
    }

    It 'with -Validate refuses the empty inode slot mkdaxfs leaves for a hard link (known upstream), and mounts DaxFs''s image of the same tree' {
        # KERNEL (format-8 module): validate refuses mkdaxfs's all-zero slot for /a/hard2 as "unsupported file type 00";
        # DaxFs leaves no such slot, and format 8 dropped format 5's link-count rule, so its image passes.
        $err = Get-MountRefusal (Get-V8Image 'basic.v8.static') @{ Validate = $true }
        $err | Should -Not -BeNullOrEmpty
        $err.Exception.Message | Should -Match 'unsupported file type 00'
        foreach ($img in (Get-V8Image 'basic.built.static'), (Get-V8Image 'basic.built.split')) {
            $m = Mount-V8 $img @{ Validate = $true }
            $m.Format | Should -Be 8
            (Compare-WithSource $script:Mnt $img.Listing) -join "`n" | Should -BeNullOrEmpty
            Dismount-DaxFs $script:Mnt -Confirm:$false
        }
    }

    It 'takes -MemoryModel and -Name on format 8, and Get-DaxFsMount shows the format, the overlay and the module' {
        $log = [DaxFs.TreeTools.KernelLog]::FromNow()
        try {
            Mount-V8 (Get-V8Image 'basic.v8.split') @{ MemoryModel = 'Cxl3'; Name = 'v8pool' } | Out-Null
            ($log.ReadNew() -join "`n") | Should -Match 'coherence backend = cxl3'
        }
        finally { $log.Dispose() }
        $g = Get-DaxFsMount $script:Mnt
        $g.Format | Should -Be 8
        $g.Overlay | Should -BeTrue
        $g.ReadOnly | Should -BeFalse
        $g.Name | Should -Be 'v8pool'
        $g.Module | Should -Be 'daxfs module 0.1.0 (format 8)'
        $g.ModuleVersion | Should -Be '0.1.0'
        Dismount-DaxFs $script:Mnt -Confirm:$false
    }
}

Describe 'A format-8 image in a dma-buf' {
    AfterEach { Clear-Mount $script:Mnt }

    It 'is written to a dma-buf, mounted through the new mount API (dmabuf=) read-write with its overlay, and lists like its source' {
        $img = Get-V8Image 'basic.built.split'
        $b = New-DmaBuf -Size ([math]::Ceiling($img.Length / 4096) * 4096)
        try {
            $m = $img.Image | Write-DaxFsImage -DmaBuf $b -PassThru -Confirm:$false | Mount-DaxFs -MountPoint $script:Mnt -BackingFile $img.Backing -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue
            $m.DmaBuf | Should -BeTrue
            $m.Format | Should -Be 8
            $m.Overlay | Should -BeTrue
            $m.ReadOnly | Should -BeFalse
            (Compare-WithSource $script:Mnt $img.Listing) -join "`n" | Should -BeNullOrEmpty
            Set-Content (Join-Path $script:Mnt 'written-in-a-dma-buf') 'dma'
            Dismount-DaxFs $script:Mnt -Confirm:$false
            (Get-DaxFsItem $b '/written-in-a-dma-buf' -BackingFile $img.Backing).Size | Should -Be 4
        }
        finally { Clear-Mount $script:Mnt; $b.Dispose() }
    }
}

Describe 'Format-8 images mounted through Mount-DaxFs list like their source' {
    AfterEach { Clear-Mount $script:Mnt }

    It '<Image.Name>' -ForEach $Listed {
        if ($Image.Kind -eq 'vector' -and $Image.Tree -eq 'stride') {
            # mkdaxfs (both generations) lets the last 201-byte name of the stride tree's big directory run into the next
            # object (vectors/v8/CHECK.md): the kernel would list a damaged name. The gate refuses the image for it.
            $err = Get-MountRefusal $Image
            $err.FullyQualifiedErrorId | Should -BeLike 'ImageFailsValidation,*'
            @($err.Exception.Data['Findings'] | ForEach-Object RuleId) | Should -Contain 'DIRENT-STRIDE'
            return
        }
        $m = Mount-V8 $Image
        $m.Format | Should -Be 8
        $hasOverlay = $Image.Name -like '*split*' -or $Image.Name -like 'overlay-only*'
        # As the kernel decides: read-write through the overlay, read-only without one.
        $m.Overlay | Should -Be $hasOverlay
        $m.ReadOnly | Should -Be (-not $hasOverlay)
        if ($Image.Listing) {
            $diff = @(Compare-WithSource $script:Mnt $Image.Listing)
            # The differences in full (the test's message is cut), for the record.
            if ($diff) { $diff | Set-Content (Join-Path $script:Data "results/v8-diff-$($Image.Name).txt") }
            @($diff | ForEach-Object { $_ -replace '^.*: ', '' } | Select-Object -First 5) -join "`n" | Should -BeNullOrEmpty -Because ($diff -join "`n")
        }
        else { @(Get-ChildItem -LiteralPath $script:Mnt -Force) | Should -BeNullOrEmpty }
        Dismount-DaxFs $script:Mnt -Confirm:$false
        $script:Counts.Listed++
    }
}

Describe 'A split format-8 image mounted with -ExportPath (export=) reads its files from its source directory' {
    AfterEach { Clear-Mount $script:Mnt }

    It '<Image.Name> from <Image.Tree>' -ForEach @($V8.Images | Where-Object { $_.Kind -eq 'built' -and $_.Name -in 'basic.built.split', 'mixed-4404.built.split' } | ForEach-Object { @{ Image = $_ } }) {
        $tree = Join-Path $script:Data "trees/$($Image.Tree)"
        # No backing file: the module opens each base file under the directory and fills its page cache from it.
        $m = Mount-DaxFs -PhysicalAddress ($script:Phys + [uint64]$Image.Offset) -Size ([uint64]$Image.Length) -MountPoint $script:Mnt -ExportPath $tree -Name export -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue
        $m.Format | Should -Be 8
        $m.Overlay | Should -BeTrue
        $opts = (Get-Content /proc/self/mountinfo | Where-Object { ($_ -split ' ')[4] -eq $script:Mnt }) -join "`n"
        $opts | Should -Match '(^|[ ,])export([ ,=]|$)'
        $diff = @(Compare-WithSource $script:Mnt $Image.Listing)
        if ($diff) { $diff | Set-Content (Join-Path $script:Data "results/v8-diff-export-$($Image.Name).txt") }
        @($diff | Select-Object -First 5) -join "`n" | Should -BeNullOrEmpty -Because ($diff -join "`n")
        Dismount-DaxFs $script:Mnt -Confirm:$false
    }
}

Describe 'The container-view runbook on a read-only format-8 mount' {
    AfterAll { Clear-Mount $script:Mnt }

    It 'gives two containers their own OverlayFS view of one static format-8 mount, and takes them down' {
        $runbooks = Join-Path $PSScriptRoot '../../docs/runbooks'
        $views = '/tmp/daxfs-it/v8-views'
        $m = Mount-V8 (Get-V8Image 'basic.v8.static')
        $m.ReadOnly | Should -BeTrue
        $v = @(& (Join-Path $runbooks 'Add-DaxFsContainerView.ps1') -Name c1, c2 -MountPoint $script:Mnt -ViewRoot $views -TmpfsSize 16m -Confirm:$false)
        $v.State | Should -Be @('Created', 'Created')
        $before = Get-Content -Raw (Join-Path $script:Mnt 'a/b/c/hello.txt')
        Set-Content "$views/c1/root/a/b/c/hello.txt" 'changed in c1'
        New-Item "$views/c2/root/only-c2" -ItemType File | Out-Null
        Get-Content "$views/c1/root/a/b/c/hello.txt" | Should -Be 'changed in c1'
        Get-Content -Raw "$views/c2/root/a/b/c/hello.txt" | Should -Be $before
        Get-Content -Raw (Join-Path $script:Mnt 'a/b/c/hello.txt') | Should -Be $before
        Test-Path "$views/c1/root/only-c2" | Should -BeFalse
        @(Get-Content /proc/self/mountinfo | Where-Object { $_ -match " - overlay .*lowerdir=$([regex]::Escape($script:Mnt))" }).Count | Should -Be 2
        & (Join-Path $runbooks 'Remove-DaxFsContainerView.ps1') -Name c1, c2 -ViewRoot $views -MountPoint $script:Mnt -DismountImage -Confirm:$false | Out-Null
        @(Get-Content /proc/self/mountinfo | Where-Object { $_ -match ' - (overlay|daxfs) ' }) | Should -BeNullOrEmpty
    }
}

# Issue 19, item 6 on the format-8 module: a container base image built from an OCI layout as a split format-8 image
# with an overlay, mounted read-write through it, shared by two OverlayFS views; a process in each view (its own mount
# and pid namespaces, the view as its root) runs the image's own shell (busybox-static from the layout), reads the
# image's files and writes one that lands only in its view's upper layer. A read-only mount (static, either format)
# cannot run them (the devdax boot's runbook test holds that for format 5; here for a static format-8 image).
Describe 'A container base image running its own shell on the format-8 module' {
    AfterAll { Clear-Mount $script:Mnt }

    It 'runs the image''s own /bin/sh in two OverlayFS views of its overlay mount; each view''s writes stay in its upper layer' {
        $runbooks = Join-Path $PSScriptRoot '../../docs/runbooks'
        $views = '/tmp/daxfs-it/v8-container-views'
        $image = Get-V8Image 'container.built.split'
        if (-not $image) { Set-ItResult -Skipped -Because 'no busybox on the host to build the container image from (busybox-static, Prerequisites.psd1)'; return }
        $m = Mount-V8 $image
        $m.ReadOnly | Should -BeFalse
        $m.Overlay | Should -BeTrue
        Test-Path "$script:Mnt/var/gone" | Should -BeFalse    # a whiteout of the layers applied
        $v = @(& (Join-Path $runbooks 'Add-DaxFsContainerView.ps1') -Name web, worker -MountPoint $script:Mnt -ViewRoot $views -TmpfsSize 16m -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue)
        $v.State | Should -Be @('Created', 'Created')
        "$warned" | Should -BeLike '*format-8 overlay mount*'
        $busybox = (Get-Command busybox -CommandType Application | Select-Object -First 1).Source
        (Get-FileHash "$views/web/root/bin/busybox").Hash | Should -Be (Get-FileHash $busybox).Hash
        foreach ($name in 'web', 'worker') {
            $root = "$views/$name/root"
            $script = "echo `$`$; cat /etc/hostname; ls /opt/old; echo $name > /etc/written-by; cat /etc/written-by"
            # The image's own /bin/sh (its busybox), nothing bind-mounted.
            $out = unshare --mount --pid --fork chroot $root /bin/sh -c $script 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $out | Should -Be @('1', 'daxfs', 'c', $name)
        }
        Get-Content "$views/web/rw/upper/etc/written-by" | Should -Be 'web'
        Get-Content "$views/worker/rw/upper/etc/written-by" | Should -Be 'worker'
        Test-Path "$script:Mnt/etc/written-by" | Should -BeFalse
        $removed = @(& (Join-Path $runbooks 'Remove-DaxFsContainerView.ps1') -Name web, worker -ViewRoot $views -MountPoint $script:Mnt -DismountImage -Confirm:$false)
        $removed.State | Should -Be @('Removed', 'Removed')
        @(Get-Content /proc/self/mountinfo | Where-Object { $_ -match ' - (overlay|daxfs) ' }) | Should -BeNullOrEmpty
    }
    It 'cannot run a program from a read-only (static) format-8 mount: the module refuses its private writable mapping' {
        $m = Mount-V8 (Get-V8Image 'basic.built.static')
        $m.ReadOnly | Should -BeTrue
        $bin = Get-ChildItem $script:Mnt -Recurse -File | Sort-Object Length -Descending | Select-Object -First 1
        python3 (Join-Path $PSScriptRoot private-map.py) $bin.FullName | Should -Be 'Permission denied'
        Dismount-DaxFs $script:Mnt -Confirm:$false
    }
}

Describe 'Writes through a format-8 mount read back offline as a fresh mount shows them' {
    AfterEach { Clear-Mount $script:Mnt }

    It '<Image.Name>' -ForEach $Written {
        $m = Mount-V8 $Image
        $m.ReadOnly | Should -BeFalse
        $appended = Invoke-V8Writes $script:Mnt
        # The basic tree has plain names: its base files are changed, removed, renamed and appended to.
        if ($Image.Tree -eq 'basic') { $appended | Should -Not -BeNullOrEmpty }
        Dismount-DaxFs $script:Mnt -Confirm:$false
        Mount-V8 $Image | Out-Null
        $kernel = Get-KernelView $script:Mnt
        $kernel.Exact | Set-Content (Join-Path $script:Data "results/v8-kernel-view-$($Image.Name).txt")
        Assert-SameView (Get-OfflineView $script:Mnt $Image.Backing) $kernel.Display "$($Image.Name).cmdlets"
        Assert-SameView (Get-ExactOfflineView $Image) $kernel.Exact "$($Image.Name).exact"
        $hello = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes("hello from the kernel`n"))).ToLowerInvariant()
        $kernel.Display | Should -Contain "sha256|$hello|/v8new/f1-renamed.txt"
        $kernel.Display | Should -Contain 'f|640|4321|8765|22|1||/v8new/f1-renamed.txt'
        $kernel.Display | Should -Contain 'f|644|0|0|20005|1||/v8new/big.bin'
        $o = Get-DaxFsOverlay $script:Mnt -WarningAction SilentlyContinue
        $o.BucketsUsed | Should -BeGreaterThan 0
        if ($appended) {
            # The known upstream behaviour, reported rather than hidden: a fresh mount shows the base size, and the reader
            # names the file whose appended page it keeps.
            (Get-Item -LiteralPath (Join-Path $script:Mnt $appended.Path)).Length | Should -Be $appended.Size
            @($o.LostAppends | Where-Object { $_ -like "$($appended.Path): * bytes past its size $($appended.Size) in page *" }) | Should -Not -BeNullOrEmpty -Because "$($appended.Path) was appended to; LostAppends: $($o.LostAppends -join '; ')"
        }
        Dismount-DaxFs $script:Mnt -Confirm:$false
        $script:Counts.WrittenAndReadBack++
    }

    It 'thousands of entries written into the large image read back offline' {
        $large = Get-V8Image 'large.built.split'
        Mount-V8 $large | Out-Null
        Invoke-V8Writes $script:Mnt -Bulk 3000 | Out-Null
        Dismount-DaxFs $script:Mnt -Confirm:$false
        Mount-V8 $large | Out-Null
        $kernel = Get-KernelView $script:Mnt
        $kernel.Exact.Count | Should -BeGreaterThan 11000
        Assert-SameView (Get-OfflineView $script:Mnt $large.Backing) $kernel.Display 'large.cmdlets'
        Assert-SameView (Get-ExactOfflineView $large) $kernel.Exact 'large.exact'
        $o = Get-DaxFsOverlay $script:Mnt -WarningAction SilentlyContinue
        $script:Counts.LargeOverlayEntries = $o.BucketsUsed
        $o.BucketsUsed | Should -BeGreaterThan 3000
        Dismount-DaxFs $script:Mnt -Confirm:$false
        $script:Counts.WrittenAndReadBack++
    }

    It 'breaks of the overlay the kernel wrote into the large image are refused by the gate, and its mutants crash nothing' {
        $large = Get-V8Image 'large.built.split'
        # Broken once per rule and mutated, each written into the slot and mounted there; one copy at a time (streamed:
        # each is as large as the image).
        $bytes = Read-Pmem ([long]$large.Offset) ([int]$large.Length)
        & { New-V8StructuralBreaks $bytes 'large-written'; New-V8Mutants $bytes 'large-written' 8104 6 } | ForEach-Object {
            Write-Pmem ([long]$script:V8.Slot.Offset) $_.Bytes
            Test-HostileMount $_.Name $_.Kind $_.Expect ([uint64]$script:V8.Slot.Offset) ([uint64]$_.Bytes.Length) $large.Backing 'large-written'
            $script:Counts.LargeBreaks++
        }
        $script:Counts.LargeBreaks | Should -Be 23
    }
}

Describe 'Hostile format-8 images through Mount-DaxFs and its gate' {
    AfterEach { Clear-Mount $script:Mnt }

    It '<Case.Kind> <Case.Name>' -ForEach $Cases {
        Test-HostileMount $Case.Name $Case.Kind $Case.Expect ([uint64]$Case.Offset) ([uint64]$Case.Length) $Case.Backing $Case.Source
    }
}
