# Format 8 through the cmdlets: the v8 vectors (shared vectors/v8) and the images whose overlay the real kernel wrote
# (tests/fixtures/overlay), read as a mount shows them; Get-DaxFsOverlay and Compare-DaxFsOverlay; branch cmdlets on format 8.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:V8 = Join-Path $Vectors 'v8'
    $script:Fixtures = Join-Path $PSScriptRoot 'fixtures/overlay'
    $script:Split = Join-Path $Fixtures 'overlay-after-writes.daxfs'
    $script:SplitBacking = Join-Path $Fixtures 'overlay-after-writes.backing'
    $script:Only = Join-Path $Fixtures 'overlay-only-after-writes.daxfs'

    # The kernel's view (find -printf '%y|%m|%U|%G|%s|%n|%l|/%P', then sha256 lines) made through the cmdlets.
    function Get-KernelStyleView([string] $Image, [string] $BackingFile) {
        $extra = @{}
        if ($BackingFile) { $extra.BackingFile = $BackingFile }
        $items = @(Get-DaxFsItem $Image -Recurse @extra) # every path below the root (the root's own line is the xunit suite's)
        $lines = foreach ($i in $items) {
            $t = switch ($i.Type) { 'Directory' { 'd' } 'SymbolicLink' { 'l' } default { 'f' } }
            '{0}|{1}|{2}|{3}|{4}|{5}|{6}|{7}' -f $t, [Convert]::ToString($i.Permissions, 8), $i.Uid, $i.Gid, $i.Size, $i.LinkCount, $i.Target, $i.FullName
        }
        $sums = foreach ($i in $items | Where-Object Type -eq 'File') {
            $bytes = $i | Get-DaxFsContent -AsByteStream @extra
            'sha256|{0}|{1}' -f [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]$bytes)).ToLowerInvariant(), $i.FullName
        }
        [string[]] $sorted = $lines
        [Array]::Sort($sorted, [StringComparer]::Ordinal)
        [string[]] $s2 = $sums
        [Array]::Sort($s2, [StringComparer]::Ordinal)
        @($sorted) + @($s2)
    }
    function Get-SortedKernelView([string] $Path) {
        $all = @(Get-Content -LiteralPath $Path -Encoding utf8 | Where-Object { $_ -and $_ -notlike '*|/' })
        [string[]] $lines = $all | Where-Object { $_ -notlike 'sha256|*' }
        [string[]] $sums = $all | Where-Object { $_ -like 'sha256|*' }
        # find sorts by path; order both parts ordinally by the whole line, as the view made here is.
        [Array]::Sort($lines, [StringComparer]::Ordinal)
        [Array]::Sort($sums, [StringComparer]::Ordinal)
        @($lines) + @($sums)
    }
}

Describe 'Reading format-8 images' {
    It 'lists <Name>.v8.<Kind> exactly as <Name>.expected.json' -ForEach @(
        foreach ($n in 'basic', 'wide', 'deep', 'empty', 'big') { foreach ($k in 'static', 'split') { @{ Name = $n; Kind = $k } } }
    ) {
        $image = Join-Path $V8 "$Name.v8.$Kind.daxfs"
        $backing = Join-Path $V8 "$Name.v8.$Kind.backing"
        $listing = if ($Kind -eq 'split' -and (Test-Path $backing)) { Get-ImageListing $image -BackingFile $backing } else { Get-ImageListing $image }
        Compare-VectorListing $listing (Join-Path $Vectors "$Name.expected.json") | Should -BeNullOrEmpty
    }
    It 'lists <File> exactly as the kernel''s fresh mount did' -ForEach @(
        @{ File = 'overlay-after-writes'; Backing = $true }
        @{ File = 'overlay-only-after-writes'; Backing = $false }
    ) {
        $image = Join-Path $Fixtures "$File.daxfs"
        $view = Get-KernelStyleView $image $(if ($Backing) { Join-Path $Fixtures "$File.backing" })
        $view | Should -Be (Get-SortedKernelView (Join-Path $Fixtures "$File.kernel-view.txt"))
    }
    It 'says which format an image is and shows the overlay and page cache regions' {
        $i = Get-DaxFsImage $Split
        $i.Format | Should -Be 'Format8'
        $i.Version | Should -Be 8
        $i.Mode | Should -Be 'Split'
        $i.BlockSize | Should -Be 4096
        $i.OverlayOffset | Should -Be 0x8000
        $i.OverlayBuckets | Should -Be 1024
        $i.PoolSize | Should -Be 2MB
        $i.PoolUsed | Should -Be 92864
        $i.PageCacheSlots | Should -Be 16
        $i.NextInodeId | Should -Be 29
        (Get-DaxFsImage $Only).Mode | Should -Be 'OverlayOnly'
        (Get-DaxFsImage (Join-Path $V8 'basic.v8.static.daxfs')).Mode | Should -Be 'Static'
        (Get-DaxFsImage (Join-Path $Vectors 'basic.static.daxfs')).Format | Should -Be 'Format5'
        ((Get-DaxFsImage $Split | Format-List | Out-String -Width 200) -replace '\e\[[0-9;]*m', '') | Should -Match 'Overlay\s+: 2\.0 MiB at 0x8000, 1024 buckets, pool 2\.0 MiB \(91 KiB used\)'
    }
    It 'reads content written through the mount, and exports the overlay view' {
        Get-DaxFsContent $Split -Path /newdir/c-moved/hello.txt -BackingFile $SplitBacking | Should -Be 'hello, daxfs'
        $dest = Join-Path $TestDrive 'export-ovl'
        Export-DaxFsItem $Only -Destination $dest
        (Get-Content -Raw (Join-Path $dest 'docs/readme.txt')).Length | Should -Be 44
        (Get-Item (Join-Path $dest 'link-readme')).LinkTarget | Should -Be 'docs/readme.txt'
        Test-Path (Join-Path $dest 'sub-moved/big.bin') | Should -BeTrue
    }
    It 'warns about a name readdir lists but no lookup finds (the split stride vector)' {
        $items = Get-DaxFsItem (Join-Path $V8 'stride.v8.split.daxfs') -Path /d -WarningVariable w -WarningAction SilentlyContinue
        @($items).Count | Should -Be 135
        @($w).Count | Should -Be 1
        "$($w[0])" | Should -Match 'ylvo'
    }
    It 'completes -Path through the overlay' {
        $line = "Get-DaxFsItem '$Only' -Path /sub-moved/"
        $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $r.CompletionMatches.CompletionText | Sort-Object | Should -Be @('/sub-moved/big.bin', '/sub-moved/shrunk-moved.bin')
        $r.CompletionMatches.ToolTip | Should -Match '^/sub-moved/\S+ \(format 8 image, through its overlay\)$'
        $line = "Get-DaxFsItem '$(Join-Path $Vectors 'basic.static.daxfs')' -Path /a/"
        $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $r.CompletionMatches.Count | Should -BeGreaterThan 0
        $r.CompletionMatches.ToolTip | Should -Match '^/a/\S+ \(format 5 image\)$'
    }
}

Describe 'Get-DaxFsOverlay' {
    It 'counts the overlay the kernel left, and reports the lost append with a warning' {
        $o = Get-DaxFsOverlay $Split -WarningVariable w -WarningAction SilentlyContinue
        $o | Should -BeOfType DaxFs.DaxFsOverlay
        $o.BucketsUsed | Should -Be 51
        $o.InodeEntries, $o.DataPages, $o.Dirents, $o.Tombstones, $o.DirectoryLists | Should -Be 12, 16, 19, 9, 4
        $o.PoolFree | Should -Be (2MB - 92864)
        $o.NextInode | Should -Be 29
        $o.LostAppends | Should -Be '/newdir/c-moved/hello.txt: 14 bytes past its size 13 in page 0'
        "$w" | Should -Match 'appended bytes a mount does not show'
        $p = Get-DaxFsOverlay $Only -WarningVariable w2
        $p.LostAppends | Should -BeNullOrEmpty
        $w2 | Should -BeNullOrEmpty
    }
    It 'takes images from the pipeline and writes one error per image without an overlay' {
        $r = @(Get-ChildItem $Fixtures -Filter *.daxfs), (Get-Item (Join-Path $V8 'basic.v8.static.daxfs')), (Get-Item (Join-Path $Vectors 'basic.static.daxfs')) |
            Get-DaxFsOverlay -ErrorVariable e -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        @($r).Count | Should -Be 2
        @($e).Count | Should -Be 2
        $e.FullyQualifiedErrorId | Should -Be 'ImageHasNoOverlay,DaxFs.Commands.GetDaxFsOverlayCommand', 'NoOverlayInFormat5,DaxFs.Commands.GetDaxFsOverlayCommand'
        "$($e[1])" | Should -Match 'Get-DaxFsBranch'
    }
}

Describe 'Compare-DaxFsOverlay' {
    It 'lists what the mount changed against the base' {
        $c = Compare-DaxFsOverlay $Split -BackingFile $SplitBacking
        $c | Should -BeOfType DaxFs.DaxFsOverlayChange
        ($c | Where-Object Path -eq '/suid').Change | Should -Be 'Removed'
        ($c | Where-Object Path -eq '/renamed-utf8').Change | Should -Be 'Added'
        ($c | Where-Object Path -eq '/exact4096').Details | Should -Be 'content differs'
        ($c | Where-Object Path -eq '/private').Before.Size | Should -Be 7
        ($c | Where-Object Path -eq '/private').After.Size | Should -Be 3
        $c.Path | Should -Not -Contain '/a'
        @($c).Count | Should -Be 22
    }
    It 'without the backing file compares sizes only, and -Change filters' {
        $c = Compare-DaxFsOverlay $Split -Change Modified
        $c.Path | Should -Be '/private'
    }
    It 'shows every path of an overlay-only image as Added' {
        $c = Compare-DaxFsOverlay $Only
        @($c).Count | Should -Be 10
        $c.Change | Select-Object -Unique | Should -Be 'Added'
    }
}

Describe 'Branch cmdlets on format 8' {
    It '<Command> says that format 8 has no branches and what it has instead' -ForEach @(
        @{ Command = 'Get-DaxFsBranch'; Run = { Get-DaxFsBranch $Split -ErrorAction Stop } }
        @{ Command = 'Compare-DaxFsBranch'; Run = { Compare-DaxFsBranch $Split -Branch main -ErrorAction Stop } }
        @{ Command = 'Get-DaxFsItem -Branch'; Run = { Get-DaxFsItem $Split -Branch main -ErrorAction Stop } }
    ) {
        $err = $null
        try { & $Run } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'Format8HasNoBranches,*'
        $err.CategoryInfo.Category | Should -Be 'InvalidOperation'
        "$err" | Should -Match 'format 8 has no branches'
        "$err" | Should -Match 'Get-DaxFsOverlay'
    }
}

Describe 'Test-DaxFsImage on format 8' {
    It 'passes the v8 vectors and reports the lost append and the hard-link slot as warnings' {
        Test-DaxFsImage (Join-Path $V8 'deep.v8.static.daxfs') | Should -BeTrue
        Test-DaxFsImage $Split -BackingFile $SplitBacking | Should -BeTrue
        (Test-DaxFsImage $Split -BackingFile $SplitBacking -Detailed).RuleId | Should -Be 'INODE-EMPTY', 'OVL-LOST-APPEND'
    }
    It 'fails a hostile overlay with the rule id of the loop' {
        $bytes = [IO.File]::ReadAllBytes($Only)
        $r = [DaxFs.Core.Read.DaxFsImageReader]::Open([DaxFs.Core.Read.ByteImageMemory]::new([byte[]]$bytes.Clone(), 'x'), $null)
        try {
            $v = [DaxFs.Core.Overlay.OverlayView]::Open($r)
            $d = $v.FindDirent(1, [Text.Encoding]::UTF8.GetBytes('docs')).Item2 # (entry, pool offset)
            [BitConverter]::GetBytes([uint64]$d).CopyTo($bytes, [int]($v.PoolStart + $d + 40)) # dir_next -> itself
        }
        finally { $r.Dispose() }
        $bad = Join-Path $TestDrive 'loop.daxfs'
        [IO.File]::WriteAllBytes($bad, $bytes)
        Test-DaxFsImage $bad | Should -BeFalse
        (Test-DaxFsImage $bad -Detailed).RuleId | Should -Contain 'OVL-DIRLIST-CYCLE'
        { Get-DaxFsItem $bad -Recurse -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidDaxFsImage.OVL-DIRLIST-CYCLE*'
    }
}
