# New-DaxFsImage -Format 8: format-8 images from the cmdlet (the layout rules are tested in xunit, WriterV8Tests).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:IsRoot = (id -u) -eq '0'
    $script:V8 = Join-Path $script:Vectors 'v8'

    # make-trees.sh's bytes(): SHA-256(seed ‖ counter as u64 LE) blocks, cut to N.
    function Get-VectorBytes([int] $N, [string] $Seed) {
        $s = [Text.Encoding]::ASCII.GetBytes($Seed)
        $out = [byte[]]::new($N)
        $in = [byte[]]::new($s.Length + 8)
        $s.CopyTo($in, 0)
        for ([long] $i = 0; $i * 32 -lt $N; $i++) {
            [BitConverter]::GetBytes($i).CopyTo($in, $s.Length)
            $d = [Security.Cryptography.SHA256]::HashData($in)
            [Array]::Copy($d, 0, $out, $i * 32, [Math]::Min(32, $N - $i * 32))
        }
        $out
    }
    # The trees of tests/vectors/make-trees.sh whose vectors DaxFs matches byte for byte (no hard links, one name per directory or sorted readdir).
    function New-VectorTree([string] $Root, [string] $Name) {
        $t = Join-Path $Root $Name
        switch ($Name) {
            'empty' { New-Item -ItemType Directory $t | Out-Null }
            'deep' {
                $p = $t
                foreach ($i in 1..40) { $p = Join-Path $p "d$i" }
                New-Item -ItemType Directory $p | Out-Null
                [IO.File]::WriteAllText((Join-Path $p 'leaf'), "bottom`n")
            }
            'big' {
                New-Item -ItemType Directory $t | Out-Null
                [IO.File]::WriteAllBytes((Join-Path $t 'three-mib.bin'), (Get-VectorBytes 3145728 'big'))
                [IO.File]::WriteAllBytes((Join-Path $t 'one-mib-plus-one.bin'), (Get-VectorBytes 1048577 'odd'))
            }
        }
        Get-ChildItem -LiteralPath $t -Recurse -Directory | ForEach-Object { chmod 0755 $_.FullName }
        chmod 0755 $t
        Get-ChildItem -LiteralPath $t -Recurse -File | ForEach-Object { chmod 0644 $_.FullName }
        $t
    }

    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "daxfs-writer8-$PID"
    New-Item -ItemType Directory $script:Work -Force | Out-Null
    $script:Trees = Join-Path $script:Work 'trees'
    New-Item -ItemType Directory $script:Trees | Out-Null
    # The sample tree: the basic tree's files, a symlink, a hard link, an empty directory (owners as the tests run).
    $script:Sample = Join-Path $script:Trees 'sample'
    New-Item -ItemType Directory "$script:Sample/a/b", "$script:Sample/emptydir" -Force | Out-Null
    [IO.File]::WriteAllText("$script:Sample/one", 'x')
    [IO.File]::WriteAllBytes("$script:Sample/a/five000", (Get-VectorBytes 5000 'five'))
    [IO.File]::WriteAllText("$script:Sample/a/b/hello.txt", "hello, daxfs`n")
    New-Item -ItemType SymbolicLink "$script:Sample/rel-link" -Target 'a/b/hello.txt' | Out-Null
    New-Item -ItemType HardLink "$script:Sample/a/hard2" -Target "$script:Sample/one" | Out-Null
    [IO.File]::WriteAllText("$script:Sample/suid", "#!/bin/sh`n"); chmod 04755 "$script:Sample/suid"
}

AfterAll {
    Set-Location $HOME
    if ($script:Work -and (Test-Path $script:Work)) { Remove-Item -Recurse -Force $script:Work }
}

Describe 'New-DaxFsImage -Format 8' {
    BeforeEach {
        $script:Out = Join-Path $script:Work ('out-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
        New-Item -ItemType Directory $script:Out | Out-Null
    }

    It 'builds the <Tree> tree <Kind> byte for byte as mkdaxfs 0.1.0 did' -ForEach @(
        foreach ($t in 'empty', 'deep', 'big') { foreach ($k in 'static', 'split') { @{ Tree = $t; Kind = $k } } }
    ) {
        $src = Join-Path $script:Trees $Tree
        if (-not (Test-Path $src)) { $src = New-VectorTree $script:Trees $Tree }
        $dest = Join-Path $script:Out "$Tree.v8.$Kind.daxfs"
        $extra = @{}
        if ($Kind -eq 'split') { $extra = @{ BackingFile = (Join-Path $script:Out "$Tree.backing"); OverlayPoolSize = 1MB; OverlayBuckets = 1024 } }
        # MAKE.md: 4096-byte pages, root-owned trees, split images with a 1 MiB pool and 1024 buckets.
        $img = New-DaxFsImage $src $dest -Format 8 -PageSize 4096 -Owner Root @extra
        $img.Format | Should -Be 'Format8'
        $img.Mode | Should -Be ($Kind -eq 'split' ? 'Split' : 'Static')
        (Get-FileHash $dest).Hash | Should -Be (Get-FileHash (Join-Path $script:V8 "$Tree.v8.$Kind.daxfs")).Hash
        $vectorBacking = Join-Path $script:V8 "$Tree.v8.split.backing"
        if ($Kind -eq 'split' -and (Test-Path $vectorBacking)) { (Get-FileHash $extra.BackingFile).Hash | Should -Be (Get-FileHash $vectorBacking).Hash }
    }

    It 'builds a <Kind> image of the sample tree that lists and reads exactly as the tree and validates clean' -ForEach @(
        @{ Kind = 'static' }, @{ Kind = 'split' }
    ) {
        $dest = Join-Path $script:Out "sample.$Kind.daxfs"
        $backing = if ($Kind -eq 'split') { Join-Path $script:Out 'sample.backing' } else { $null }
        $extra = if ($backing) { @{ BackingFile = $backing } } else { @{} }
        $img = New-DaxFsImage $script:Sample $dest -Format 8 @extra
        $img.Format | Should -Be 'Format8'
        $img.BlockSize | Should -Be ([Environment]::SystemPageSize)
        (Get-DaxFsImage $dest @extra).Format | Should -Be 'Format8'
        Test-DaxFsImage $dest @extra | Should -BeTrue
        Compare-DaxFsImage (Get-DaxFsImage $dest @extra) $script:Sample | Should -BeNullOrEmpty
        # Item by item through Get-DaxFsItem and Get-DaxFsContent.
        foreach ($f in Get-ChildItem -LiteralPath $script:Sample -Recurse -File) {
            $rel = $f.FullName.Substring($script:Sample.Length)
            $item = Get-DaxFsItem $dest $rel @extra
            $item.Size | Should -Be $f.Length
            [byte[]] $bytes = Get-DaxFsContent $dest $rel -AsByteStream @extra
            if ($f.Length -gt 0) { [Convert]::ToHexString($bytes) | Should -Be ([Convert]::ToHexString([IO.File]::ReadAllBytes($f.FullName))) }
        }
        (Get-DaxFsItem $dest /rel-link @extra).Target | Should -Be 'a/b/hello.txt'
        (Get-DaxFsItem $dest /a/hard2 @extra).Inode | Should -Be (Get-DaxFsItem $dest /one @extra).Inode
        (Get-DaxFsItem $dest /suid @extra).Mode | Should -Be '-rwsr-xr-x'
    }

    It 'gives a split image an overlay of the chosen pool and buckets, and an empty image an overlay with its root alone' {
        $split = New-DaxFsImage $script:Sample (Join-Path $script:Out 's.daxfs') -Format 8 -BackingFile (Join-Path $script:Out 's.data') -OverlayPoolSize 2MB -OverlayBuckets 4096
        $o = Get-DaxFsOverlay $split.Path
        $o.PoolSize | Should -Be 2MB
        $o.Buckets | Should -Be 4096
        $o.PoolUsed | Should -Be 0

        $empty = New-DaxFsImage -Empty (Join-Path $script:Out 'e.daxfs') -Format 8 -OverlayPoolSize 1MB -OverlayBuckets 1024
        $empty.Mode | Should -Be 'OverlayOnly'
        $empty.InodeCount | Should -Be 0
        Test-DaxFsImage $empty.Path | Should -BeTrue
        Get-DaxFsItem $empty.Path | Should -BeNullOrEmpty
        $eo = Get-DaxFsOverlay $empty.Path
        $eo.PoolUsed | Should -Be 32
        $eo.Buckets | Should -Be 1024
        $eo.InodeEntries | Should -Be 1 # the root, inode 1
    }

    It 'says in -Verbose and -WhatIf which format it builds and how the overlay is sized' {
        $records = New-DaxFsImage $script:Sample (Join-Path $script:Out 'v.daxfs') -Format 8 -BackingFile (Join-Path $script:Out 'v.data') -PageSize 4096 -OverlayPoolSize 1MB -OverlayBuckets 1024 -Verbose 4>&1
        $verbose = ($records | Where-Object { $_ -is [Management.Automation.VerboseRecord] }).Message -join "`n"
        $verbose | Should -Match 'Layout \([\d.]+ s\): split image of \d+ bytes \([^)]*\), format 8, block size 4096; .*an overlay pool of 1048576 bytes \(1\.0 MiB\) with 1024 buckets\.'
        $verbose | Should -Match 'Build a split format-8 DAXFS image of'
        (New-DaxFsImage -Empty (Join-Path $script:Out 'w.daxfs') -Format 8 -Verbose 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] }).Message -join "`n" |
            Should -Match 'overlay-only image of \d+ bytes .*no base \(the root directory is in the overlay\)'
    }

    It 'is reproducible: the same tree gives the same bytes' {
        $a = New-DaxFsImage $script:Sample (Join-Path $script:Out 'a.daxfs') -Format 8 -BackingFile (Join-Path $script:Out 'a.data')
        $b = New-DaxFsImage $script:Sample (Join-Path $script:Out 'b.daxfs') -Format 8 -BackingFile (Join-Path $script:Out 'b.data')
        (Get-FileHash $a.Path).Hash | Should -Be (Get-FileHash $b.Path).Hash
        (Get-FileHash (Join-Path $script:Out 'a.data')).Hash | Should -Be (Get-FileHash (Join-Path $script:Out 'b.data')).Hash
    }

    It 'builds format 5 without -Format' {
        (New-DaxFsImage $script:Sample (Join-Path $script:Out 'd.daxfs')).Format | Should -Be 'Format5'
        (New-DaxFsImage $script:Sample (Join-Path $script:Out 'f5.daxfs') -Format 5).Format | Should -Be 'Format5'
    }

    It 'refuses <Given> as an option of the other format, writing nothing' -ForEach @(
        @{ Given = '-Branching with -Format 8'; Extra = @{ Format = 8; Branching = $true }; Param = 'Branching' }
        @{ Given = '-DeltaSize with -Format 8'; Extra = @{ Format = 8; BackingFile = 'B'; DeltaSize = 8MB }; Param = 'DeltaSize' }
        @{ Given = '-OverlayPoolSize without -Format 8'; Extra = @{ BackingFile = 'B'; OverlayPoolSize = 1MB }; Param = 'OverlayPoolSize' }
        @{ Given = '-OverlayBuckets with -Format 5'; Extra = @{ Format = 5; OverlayBuckets = 1024 }; Param = 'OverlayBuckets' }
        @{ Given = '-PageSize without -Format 8'; Extra = @{ PageSize = 4096 }; Param = 'PageSize' }
        @{ Given = 'an overlay for a static format-8 image'; Extra = @{ Format = 8; OverlayBuckets = 1024 }; Param = 'OverlayBuckets' }
    ) {
        $extra = $Extra.Clone()
        if ($extra.ContainsKey('BackingFile')) { $extra.BackingFile = Join-Path $script:Out 'x.data' }
        New-DaxFsImage $script:Sample (Join-Path $script:Out 'x.daxfs') @extra -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'OptionOfOtherFormat,*'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e[0].TargetObject | Should -Be $Param
        $e[0].Exception.Message | Should -Match '-Format|-BackingFile'
        Get-ChildItem $script:Out | Should -BeNullOrEmpty
    }

    It 'refuses -Empty without -Format 8 and bucket counts that are not powers of two' {
        New-DaxFsImage -Empty (Join-Path $script:Out 'e.daxfs') -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'OptionOfOtherFormat,*'
        New-DaxFsImage -Empty (Join-Path $script:Out 'e.daxfs') -Format 8 -OverlayBuckets 1000 -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e2[0].FullyQualifiedErrorId | Should -BeLike 'DaxFsBuild.InvalidOption,*'
        $e2[0].Exception.Message | Should -Match 'power of two'
        Get-ChildItem $script:Out | Should -BeNullOrEmpty
    }

    It 'completes -Format and -PageSize with their values' {
        $c = TabExpansion2 -inputScript 'New-DaxFsImage -Format ' -cursorColumn 'New-DaxFsImage -Format '.Length
        $c.CompletionMatches.CompletionText | Should -Be @('5', '8')
        $p = TabExpansion2 -inputScript 'New-DaxFsImage -PageSize ' -cursorColumn 'New-DaxFsImage -PageSize '.Length
        $p.CompletionMatches.CompletionText | Sort-Object { [int]$_ } | Should -Be @('4096', '16384', '65536')
    }

    It 'moves a format-5 image to format 8 by export and rebuild, listing identically' {
        # The documented way (about_DaxFs): export the format-5 image's tree, build it as format 8, compare the two images.
        $v5 = Join-Path $script:Vectors 'basic.static.daxfs'
        $tree = Join-Path $script:Out 'tree'
        Export-DaxFsItem $v5 -Destination $tree
        $v8 = New-DaxFsImage $tree (Join-Path $script:Out 'basic.v8.daxfs') -Format 8 -BackingFile (Join-Path $script:Out 'basic.v8.data')
        $v8.Format | Should -Be 'Format8'
        Compare-DaxFsImage $v5 (Get-DaxFsImage $v8.Path -BackingFile (Join-Path $script:Out 'basic.v8.data')) -IgnoreOwner:(-not $script:IsRoot) | Should -BeNullOrEmpty
        Test-DaxFsImage $v8.Path -BackingFile (Join-Path $script:Out 'basic.v8.data') | Should -BeTrue
    }
}

Describe 'New-DaxFsImage -Format 8 at real size' {
    BeforeAll {
        # 3,000 directories (chains and fans) and 100,000 entries: files (most empty, some with bytes), symlinks, hard links.
        $script:Large = Join-Path $script:Trees 'large'
        $rng = [Random]::new(8)
        $dirs = [Collections.Generic.List[string]]::new()
        $dirs.Add($script:Large)
        [IO.Directory]::CreateDirectory($script:Large) | Out-Null
        for ($d = 1; $d -lt 3000; $d++) {
            $parent = $dirs[($rng.Next(2) -eq 0) ? $rng.Next($dirs.Count) : [Math]::Max(0, $dirs.Count - 1 - $rng.Next(4))]
            $p = [IO.Path]::Combine($parent, ('d{0:x4}' -f $d))
            [IO.Directory]::CreateDirectory($p) | Out-Null
            $dirs.Add($p)
        }
        $data = [byte[]]::new(700)
        $firstFile = $null
        for ($e = 3000; $e -lt 100000; $e++) {
            $p = [IO.Path]::Combine($dirs[$rng.Next($dirs.Count)], ('e{0:x5}' -f $e))
            $k = $rng.Next(20)
            if ($k -eq 0) { [IO.File]::CreateSymbolicLink($p, '../' + ('t' * $rng.Next(1, 200))) | Out-Null }
            elseif ($k -eq 1 -and $firstFile) { [IO.File]::Copy($firstFile, $p) } # not a hard link: a copy keeps the loop cheap
            elseif ($k -lt 5) { $rng.NextBytes($data); [IO.File]::WriteAllBytes($p, $data[0..($rng.Next(700))]) }
            else { [IO.File]::Create($p).Dispose() }
            if (-not $firstFile -and $k -ge 5) { $firstFile = $p }
        }
        [IO.File]::WriteAllText((Join-Path $script:Large 'shared'), "one inode, two names`n")
        New-Item -ItemType HardLink (Join-Path $dirs[1500] 'hard-link') -Target (Join-Path $script:Large 'shared') | Out-Null
        $script:LargeOut = Join-Path $script:Work 'large-out'
        New-Item -ItemType Directory $script:LargeOut | Out-Null
    }

    It 'builds split and static images of 100,000 entries that validate clean and compare equal to the tree' {
        $split = New-DaxFsImage $script:Large (Join-Path $script:LargeOut 'large.v8.daxfs') -Format 8 -BackingFile (Join-Path $script:LargeOut 'large.v8.data')
        $split.InodeCount | Should -BeGreaterOrEqual 100000
        $img = Get-DaxFsImage $split.Path -BackingFile (Join-Path $script:LargeOut 'large.v8.data')
        Test-DaxFsImage $img | Should -BeTrue
        Compare-DaxFsImage $img $script:Large | Should -BeNullOrEmpty
        $onDisk = [Linq.Enumerable]::Count([IO.Directory]::EnumerateFileSystemEntries($script:Large, '*', [IO.SearchOption]::AllDirectories))
        @(Get-DaxFsItem $img -Recurse).Count | Should -Be $onDisk

        $static = New-DaxFsImage $script:Large (Join-Path $script:LargeOut 'large.v8s.daxfs') -Format 8
        Test-DaxFsImage $static.Path | Should -BeTrue
        $v5 = New-DaxFsImage $script:Large (Join-Path $script:LargeOut 'large.v5.daxfs')
        Compare-DaxFsImage $v5.Path $static.Path | Should -BeNullOrEmpty
    }
}
