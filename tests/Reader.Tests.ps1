BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $basic = Join-Path $Vectors 'basic.static.daxfs'
}

Describe 'Get-DaxFsImage' {
    It 'summarises a static image' {
        $i = Get-DaxFsImage $basic
        $i | Should -BeOfType DaxFs.DaxFsImage
        $i.Mode | Should -Be 'Static'
        $i.Version | Should -Be 5
        $i.InodeCount | Should -Be 19
        $i.TotalSize | Should -Be 0x14000
        $i.BranchTableEntries | Should -Be 0
        $i.Path | Should -Be $basic
    }
    It 'summarises a branching image' {
        $i = Get-DaxFsImage (Join-Path $Vectors 'basic.branching.daxfs')
        $i.Mode | Should -Be 'Branching'
        $i.BranchTableEntries | Should -Be 256
        $i.DeltaRegionSize | Should -Be 1MB
    }
    It 'takes FileInfo objects from the pipeline' {
        $images = Get-ChildItem $Vectors -Filter *.daxfs | Get-DaxFsImage
        $images.Count | Should -Be 10
    }
    It 'expands wildcards and resolves relative paths' {
        Push-Location $Vectors
        try { (Get-DaxFsImage './basic.*.daxfs').Count | Should -Be 2 } finally { Pop-Location }
    }
    It 'fails with ImageNotFound for a missing file' {
        { Get-DaxFsImage (Join-Path $TestDrive 'nope.daxfs') -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound,DaxFs.Commands.GetDaxFsImageCommand'
    }
    It 'fails with InvalidData and the rule id for a file that is no image' {
        $junk = Join-Path $TestDrive 'junk.daxfs'
        [IO.File]::WriteAllBytes($junk, [byte[]]::new(8192))
        $err = $null
        try { Get-DaxFsImage $junk -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'InvalidDaxFsImage.SB-MAGIC,DaxFs.Commands.GetDaxFsImageCommand'
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        $err.TargetObject | Should -Be $junk
        $err.Exception.Message | Should -Match 'Test-DaxFsImage'
    }
    It 'fails with IMG-TRUNCATED for a truncated image' {
        $cut = Join-Path $TestDrive 'cut.daxfs'
        [IO.File]::WriteAllBytes($cut, [IO.File]::ReadAllBytes($basic)[0..999])
        { Get-DaxFsImage $cut -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidDaxFsImage.IMG-TRUNCATED,DaxFs.Commands.GetDaxFsImageCommand'
    }
}

Describe 'Get-DaxFsItem' {
    It 'lists <Name>.<Mode> exactly as <Name>.expected.json' -ForEach @(
        foreach ($n in 'basic', 'wide', 'deep', 'empty', 'big') { foreach ($m in 'static', 'branching') { @{ Name = $n; Mode = $m } } }
    ) {
        $listing = Get-ImageListing (Join-Path $Vectors "$Name.$Mode.daxfs")
        Compare-VectorListing $listing (Join-Path $Vectors "$Name.expected.json") | Should -BeNullOrEmpty
    }

    It 'compares by the one listing comparison, which finds a changed mode, a missing path and an extra one' {
        $listing = Get-ImageListing (Join-Path $Vectors 'basic.static.daxfs')
        $one = $listing | Where-Object Path -eq '/one'
        $listing.Remove($one) | Out-Null
        $listing.Add([DaxFs.TreeTools.TreeEntry]@{ Path = '/one'; Type = 'file'; Mode = 0x1ff; Size = $one.Size; Sha256 = $one.Sha256 })
        $listing.Remove(($listing | Where-Object Path -eq '/emptydir')) | Out-Null
        $listing.Add([DaxFs.TreeTools.TreeEntry]@{ Path = '/extra'; Type = 'dir'; Mode = 493 })
        $diff = Compare-VectorListing $listing (Join-Path $Vectors 'basic.expected.json') -IgnoreOwner
        $diff | Should -Contain '/one: mode is 511, the vector says 420'
        $diff | Should -Contain '/emptydir: missing from the tree'
        $diff | Should -Contain '/extra: not in the vector listing'
        $diff.Count | Should -Be 3
    }
    It 'returns typed items with the mode string and numeric mode' {
        $suid = Get-DaxFsItem $basic -Path /suid
        $suid | Should -BeOfType DaxFs.DaxFsItem
        $suid.Mode | Should -BeExactly '-rwsr-xr-x'
        $suid.UnixMode | Should -Be 0x89ED
        $suid.Permissions | Should -Be 2541
        $suid.ImagePath | Should -Be $basic
        (Get-DaxFsItem $basic -Path /rel-link).Target | Should -Be 'a/b/c/hello.txt'
        (Get-DaxFsItem $basic -Path /owned).Uid | Should -Be 1234
    }
    It 'filters with Where-Object on Size' {
        $big = Get-DaxFsItem (Join-Path $Vectors 'big.static.daxfs') | Where-Object Size -gt 1MB
        $big.Name | Sort-Object | Should -Be @('one-mib-plus-one.bin', 'three-mib.bin')
    }
    It 'lists only direct children without -Recurse, and honours -Depth' {
        (Get-DaxFsItem (Join-Path $Vectors 'deep.static.daxfs')).FullName | Should -Be '/d1'
        (Get-DaxFsItem (Join-Path $Vectors 'deep.static.daxfs') -Depth 2).Count | Should -Be 3
    }
    It 'matches -Filter wildcards on names anywhere below with -Recurse' {
        (Get-DaxFsItem $basic -Recurse -Filter 'hard*').FullName | Sort-Object | Should -Be @('/a/hard2', '/hard1')
    }
    It 'keeps only the -Type asked for' {
        (Get-DaxFsItem $basic -Recurse -Type SymbolicLink).Name | Sort-Object | Should -Be @('abs-link', 'rel-link')
    }
    It 'pipes DaxFsImage objects and FileInfo objects' {
        (Get-DaxFsImage $basic | Get-DaxFsItem -Recurse).Count | Should -Be 18
        (Get-Item $basic | Get-DaxFsItem -Path /a).Count | Should -Be 3
        (Get-ChildItem $Vectors -Filter 'wide.*.daxfs' | Get-DaxFsItem -Recurse).Count | Should -Be 602
    }
    It 'writes ItemNotFoundInImage for a path that does not exist' {
        Get-DaxFsItem $basic -Path /nope -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'ItemNotFoundInImage,DaxFs.Commands.GetDaxFsItemCommand'
    }
    It 'refuses a directory given as the image with a hint' {
        { Get-DaxFsItem $TestDrive -ErrorAction Stop } | Should -Throw -ErrorId 'ImageIsDirectory,DaxFs.Commands.GetDaxFsItemCommand'
    }
    Context 'a listing of 5,003 items' {
        BeforeAll {
            $tree = Join-Path $TestDrive 'long'
            New-Item -ItemType Directory (Join-Path $tree 'a'), (Join-Path $tree 'z') -Force | Out-Null
            foreach ($i in 1..5000) { [IO.File]::WriteAllText((Join-Path $tree "a/f$i"), "$i") }
            Set-Content (Join-Path $tree 'z/last') 'last'
            $script:long = Join-Path $TestDrive 'long.daxfs'
            New-DaxFsImage $tree $script:long | Out-Null
            $r = [DaxFs.Core.Read.DaxFsImageReader]::Open($script:long, $null)
            try { $script:engineOrder = @($r.Walk('/') | ForEach-Object FullName) } finally { $r.Dispose() }
        }
        It 'lists every item in the engine''s own order' {
            $script:engineOrder.Count | Should -Be 5003
            $listed = @(Get-DaxFsItem $script:long -Recurse)
            $listed.Count | Should -Be 5003
            ($listed.FullName -join "`n") | Should -BeExactly ($script:engineOrder -join "`n")
            $listed[-1].FullName | Should -Be '/z/last'
            $listed[-1].Size | Should -Be 5
        }
        It 'stops when the pipeline stops (Select-Object -First), and the next command reads the same image' {
            (Get-DaxFsItem $script:long -Recurse | Select-Object -First 4500 | Select-Object -Last 1).FullName | Should -Be $script:engineOrder[4499]
            (Get-DaxFsItem $script:long -Recurse | Measure-Object).Count | Should -Be 5003
        }
        It 'writes the format error of a directory met late in the walk after every item before it, and goes on with the next image' {
            $bad = Join-Path $TestDrive 'long-bad.daxfs'
            Copy-Item $script:long $bad
            $ino = (Get-DaxFsItem $bad | Where-Object Name -eq z).Inode
            $r = [DaxFs.Core.Read.DaxFsImageReader]::Open($bad, $null)
            try { $at = $r.InodeOffset([uint32]$ino) + 24 } finally { $r.Dispose() }       # the directory's DataOffset
            $f = [IO.File]::OpenWrite($bad)
            try { $f.Position = $at; $f.Write([BitConverter]::GetBytes([uint64]0x7FFFFFFFFFFF0000), 0, 8) } finally { $f.Dispose() }
            $listed = @(Get-DaxFsItem $bad, $basic -Recurse -ErrorVariable e -ErrorAction SilentlyContinue)
            $e | Should -HaveCount 1
            $e[0].FullyQualifiedErrorId | Should -BeLike 'InvalidDaxFsImage.*,DaxFs.Commands.GetDaxFsItemCommand'
            $e[0].TargetObject | Should -Be $bad
            $fromBad = @($listed | Where-Object ImagePath -eq $bad)
            ($fromBad.FullName -join "`n") | Should -BeExactly ($script:engineOrder[0..5001] -join "`n")
            @($listed | Where-Object ImagePath -eq $basic).Count | Should -Be 18
        }
    }
    It 'completes -Path from the image named in the same command' {
        $line = "Get-DaxFsItem '$basic' -Path /a/"
        $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $r.CompletionMatches.CompletionText | Sort-Object | Should -Be @('/a/b/', '/a/five000', '/a/hard2')
    }
}

Describe 'Get-DaxFsContent' {
    It 'returns lines by default' {
        Get-DaxFsContent $basic -Path /a/b/c/hello.txt | Should -BeExactly 'hello, daxfs'
    }
    It 'returns one string with -Raw' {
        Get-DaxFsContent $basic -Path /a/b/c/hello.txt -Raw | Should -BeExactly "hello, daxfs`n"
    }
    It 'returns bytes with -AsByteStream and honours -TotalCount' {
        $b = Get-DaxFsContent $basic -Path /a/five000 -AsByteStream
        $b.GetType().Name | Should -Be 'Byte[]'
        $b.Length | Should -Be 5000
        (Get-DaxFsContent $basic -Path /a/five000 -AsByteStream -TotalCount 10).Length | Should -Be 10
    }
    It 'follows symlinks inside the image' {
        Get-DaxFsContent $basic -Path /rel-link | Should -BeExactly 'hello, daxfs'
    }
    It 'reads items piped from Get-DaxFsItem' {
        $text = Get-DaxFsItem $basic -Recurse -Filter '*.txt' | Get-DaxFsContent
        $text | Should -BeExactly 'hello, daxfs'
    }
    It 'reports a directory as ItemNotAFile' {
        Get-DaxFsContent $basic -Path /a -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'ItemNotAFile,DaxFs.Commands.GetDaxFsContentCommand'
    }
}
